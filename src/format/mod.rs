//! `kiln fmt`: Packer's canonical layout (HashiCorp's hclwrite formatter), token by token.
//!
//! [`format`] reproduces `packer fmt` of Packer 1.6.6 byte for byte: the same scanner
//! ([`token`]), the same whitespace rules ([`formatter`]) and the same column arithmetic
//! ([`width`]). It only ever changes the spaces between tokens, never the tokens themselves.

mod formatter;
pub mod token;
mod width;

/// Format HCL source text the way `packer fmt` does. Never panics; text that does not lex as
/// HCL (stray characters such as `;` or `&`, a newline inside a quoted string) comes back unchanged.
pub fn format(text: &str) -> String {
    formatter::format(text)
}
