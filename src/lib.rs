//! kiln: build machine images from Packer templates.

// `print!`, `println!`, `eprint!` and `eprintln!` for the whole crate, in place of std's: those
// panic when the stream is gone (`kiln inspect | head -1`, a closed terminal). Here output that
// cannot be written is dropped and kiln goes on, so a build still cleans up after itself.
macro_rules! print {
    ($($arg:tt)*) => { $crate::write_to(&mut ::std::io::stdout(), format_args!($($arg)*)) };
}
macro_rules! println {
    () => { print!("\n") };
    ($($arg:tt)*) => { print!("{}\n", format_args!($($arg)*)) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::write_to(&mut ::std::io::stderr(), format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { eprint!("\n") };
    ($($arg:tt)*) => { eprint!("{}\n", format_args!($($arg)*)) };
}

#[doc(hidden)]
pub fn write_to(stream: &mut impl std::io::Write, args: std::fmt::Arguments) {
    let _ = stream.write_fmt(args);
}

pub mod body;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod eval;
pub mod exec;
pub mod format;
pub mod fsutil;
pub mod functions;
pub mod log;
pub mod plan;
pub mod plugins;
pub mod registry;
pub mod source;
pub mod syntax;
pub mod value;
