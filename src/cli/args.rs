//! Packer's single-dash flag spellings (`-only=x`, `-write=false`) mapped onto clap's `--long` forms.

use std::ffi::OsString;
use std::io::IsTerminal;

/// Rewrite `-flag` and `-flag=value` into `--flag` / `--flag=value`; `-` alone (stdin) and
/// anything after `--` are kept as they are.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || rest {
            out.push(arg);
            continue;
        }
        match arg.to_str() {
            Some("--") => {
                rest = true;
                out.push(arg);
            }
            Some(s) if is_single_dash_long(s) => out.push(OsString::from(format!("-{s}"))),
            _ => out.push(arg),
        }
    }
    out
}

fn is_single_dash_long(s: &str) -> bool {
    let Some(body) = s.strip_prefix('-') else {
        return false;
    };
    let name = body.split('=').next().unwrap_or("");
    !body.starts_with('-')
        && name.len() > 1
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A boolean as Go's `strconv.ParseBool` reads it, which Packer's flags use.
pub fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!("expected true or false, not `{other}`")),
    }
}

/// How a command-line error or help reads: flags with one dash, and an unknown flag worded as
/// Go's flag package words it (clap's own tip there, to pass it after `--`, is wrong for kiln).
pub fn usage_error(err: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(flag)) = err.get(ContextKind::InvalidArg) {
            let mut text = format!(
                "error: flag provided but not defined: {}\n",
                single_dash(flag)
            );
            if let Some(ContextValue::String(near)) = err.get(ContextKind::SuggestedArg) {
                text.push_str(&format!("\n  tip: did you mean '{}'?\n", single_dash(near)));
            }
            text.push_str("\nFor more information, try '-help'.\n");
            return text;
        }
    }
    single_dash(&err.render().to_string())
}

/// clap's help and errors with flags named as Packer's users type them: `-only`, not
/// `--only` (the command line was rewritten into clap's spelling before parsing).
pub fn single_dash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let starts_word = before
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '\'' | '[' | '(' | ',' | '`' | '<'));
        let names_flag = after[2..].starts_with(|c: char| c.is_ascii_alphabetic());
        out.push_str(if starts_word && names_flag { "-" } else { "--" });
        rest = &after[2..];
    }
    out.push_str(rest);
    out
}

/// When to color output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether stderr output should carry ANSI colors.
    pub fn enabled(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
                    && std::env::var_os("PACKER_NO_COLOR").is_none()
            }
        }
    }
}

impl Color {
    /// Whether standard output (a build's output) should carry ANSI colors.
    pub fn enabled_for_stdout(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
                    && std::env::var_os("PACKER_NO_COLOR").is_none()
            }
        }
    }
}

/// Accepts Packer's `-color=false` as well as `auto|always|never`.
pub fn parse_color(s: &str) -> Result<Color, String> {
    match s {
        "auto" => Ok(Color::Auto),
        "true" | "always" => Ok(Color::Always),
        "false" | "never" => Ok(Color::Never),
        other => Err(format!(
            "expected true, false, auto, always or never, not `{other}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_flags_become_long() {
        assert_eq!(
            norm(&[
                "kiln",
                "fmt",
                "-check",
                "-write=false",
                "-",
                "--diff",
                "x.pkr.hcl"
            ]),
            [
                "kiln",
                "fmt",
                "--check",
                "--write=false",
                "-",
                "--diff",
                "x.pkr.hcl"
            ]
        );
    }

    #[test]
    fn short_flags_and_after_double_dash_are_kept() {
        assert_eq!(
            norm(&["kiln", "-h", "--", "-only=x"]),
            ["kiln", "-h", "--", "-only=x"]
        );
    }
}
