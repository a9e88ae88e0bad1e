//! An HCL token scanner that splits text exactly where HashiCorp's `hclsyntax` scanner
//! (`scan_tokens.rl`, HCL v2.8) does, so the formatter sees the same token stream `packer fmt` sees.
//!
//! The scanner is a small hand-written state machine with the same three modes as the Ragel one:
//! ordinary configuration tokens, the inside of a quoted template and the inside of a heredoc.
//! Interpolations (`${ ... }`) re-enter the ordinary mode and leave it at the matching `}`.

/// The kinds of token `hclsyntax` produces (its `TokenType`s), named as it names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `{`
    OBrace,
    /// `}`
    CBrace,
    /// `[`
    OBrack,
    /// `]`
    CBrack,
    /// `(`
    OParen,
    /// `)`
    CParen,
    /// `"` opening a quoted template.
    OQuote,
    /// `"` closing a quoted template.
    CQuote,
    /// `<<EOT` or `<<-EOT` with its newline.
    OHeredoc,
    /// The closing marker line of a heredoc, without its newline.
    CHeredoc,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `%`
    Percent,
    /// `=`
    Equal,
    /// `==`
    EqualOp,
    /// `!=`
    NotEqual,
    /// `<`
    LessThan,
    /// `<=`
    LessThanEq,
    /// `>`
    GreaterThan,
    /// `>=`
    GreaterThanEq,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Bang,
    /// `.`
    Dot,
    /// `,`
    Comma,
    /// `...`
    Ellipsis,
    /// `=>`
    FatArrow,
    /// `?`
    Question,
    /// `:`
    Colon,
    /// `${` or `${~`
    TemplateInterp,
    /// `%{` or `%{~`
    TemplateControl,
    /// `}` or `~}` closing an interpolation or directive.
    TemplateSeqEnd,
    /// Literal text inside a quoted template.
    QuotedLit,
    /// Literal text inside a heredoc.
    StringLit,
    /// A number.
    NumberLit,
    /// An identifier or keyword.
    Ident,
    /// A comment; `#` and `//` comments include their newline.
    Comment,
    /// A line break (`\n` or `\r\n`).
    Newline,
    /// The end of the input (no bytes).
    Eof,
    /// `&`, which HCL rejects.
    BitwiseAnd,
    /// `|`, which HCL rejects.
    BitwiseOr,
    /// `~`, which HCL rejects.
    BitwiseNot,
    /// `^`, which HCL rejects.
    BitwiseXor,
    /// `` ` ``, which HCL rejects.
    Backtick,
    /// `'`, which HCL rejects.
    Apostrophe,
    /// `;`, which HCL rejects.
    Semicolon,
    /// A line break inside a quoted template, which HCL rejects.
    QuotedNewline,
    /// Anything the scanner cannot match.
    Invalid,
    /// The placeholder `hclwrite` uses before the first and after the last token of a cell.
    Nil,
}

impl TokenKind {
    /// True for the kinds `hclsyntax.LexConfig` reports as errors: input with any of them does
    /// not lex, and the formatter leaves it alone.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            TokenKind::BitwiseAnd
                | TokenKind::BitwiseOr
                | TokenKind::BitwiseNot
                | TokenKind::BitwiseXor
                | TokenKind::Backtick
                | TokenKind::Apostrophe
                | TokenKind::Semicolon
                | TokenKind::QuotedNewline
                | TokenKind::Invalid
        )
    }
}

/// One token: its kind and the byte range of the input it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// What the scanner is reading: the Ragel machine's call stack, one entry per nesting level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Main,
    Quoted,
    Heredoc,
}

/// A heredoc being read: its closing marker and whether the next literal starts a line.
struct Heredoc {
    marker: String,
    start_of_line: bool,
}

/// Scan `text` into tokens, ending with one [`TokenKind::Eof`] token.
///
/// A leading UTF-8 byte-order mark is skipped (its bytes still count in offsets), as
/// `hclsyntax` does. Scanning never fails: what cannot be matched becomes
/// [`TokenKind::Invalid`].
pub fn scan(text: &str) -> Vec<Token> {
    let mut scanner = Scanner {
        src: text,
        pos: if text.starts_with('\u{feff}') { 3 } else { 0 },
        tokens: Vec::new(),
        modes: vec![Mode::Main],
        braces: 0,
        ret_braces: Vec::new(),
        heredocs: Vec::new(),
    };
    scanner.run();
    let end = text.len();
    scanner.tokens.push(Token {
        kind: TokenKind::Eof,
        start: end,
        end,
    });
    scanner.tokens
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    /// The mode stack; the last entry is the current mode. Never empty while scanning.
    modes: Vec<Mode>,
    /// Brace depth, counting `{` and interpolation openers, as the Ragel scanner counts it.
    braces: i64,
    /// Brace depths at which a `}` closes an interpolation rather than an object or block.
    ret_braces: Vec<i64>,
    heredocs: Vec<Heredoc>,
}

impl<'a> Scanner<'a> {
    fn run(&mut self) {
        while self.pos < self.src.len() {
            let mode = self.modes.last().copied().unwrap_or(Mode::Main);
            let progressed = match mode {
                Mode::Main => self.main(),
                Mode::Quoted => self.quoted(),
                Mode::Heredoc => self.heredoc(),
            };
            if !progressed {
                // The Ragel machine stops at the first byte no rule accepts and reports the
                // rest of the input as one invalid token.
                self.emit(TokenKind::Invalid, self.pos, self.src.len());
                self.pos = self.src.len();
            }
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn emit(&mut self, kind: TokenKind, start: usize, end: usize) {
        self.tokens.push(Token { kind, start, end });
        self.pos = end;
    }

    fn push_mode(&mut self, mode: Mode) {
        self.modes.push(mode);
    }

    /// Return from a nested mode; the outermost ordinary mode is never popped, so malformed
    /// input cannot empty the stack.
    fn pop_mode(&mut self) {
        if self.modes.len() > 1 {
            self.modes.pop();
        }
    }

    /// `${` or `%{` (with an optional `~`) at the current position: emit it and enter an
    /// interpolation.
    fn template_opener(&mut self) -> bool {
        let rest = self.rest();
        let kind = if rest.starts_with("${") {
            TokenKind::TemplateInterp
        } else if rest.starts_with("%{") {
            TokenKind::TemplateControl
        } else {
            return false;
        };
        let len = if rest[2..].starts_with('~') { 3 } else { 2 };
        let start = self.pos;
        self.emit(kind, start, start + len);
        self.braces += 1;
        self.ret_braces.push(self.braces);
        if let Some(doc) = self.heredocs.last_mut() {
            doc.start_of_line = false;
        }
        self.push_mode(Mode::Main);
        true
    }

    /// A `$` or `%` that does not open a sequence is a literal of its own; `$${` and `%%{`
    /// (escapes) are one literal. Returns the literal's length, or 0 when the text at the
    /// current position is not such a literal.
    fn lone_sigil_len(&self) -> usize {
        let rest = self.rest().as_bytes();
        let Some(&sigil) = rest.first() else { return 0 };
        if sigil != b'$' && sigil != b'%' {
            return 0;
        }
        match rest.get(1) {
            // At the very end the Ragel machine needs one more byte to decide; it gives up.
            None => 0,
            Some(&next) if next == sigil && rest.get(2) == Some(&b'{') => {
                if rest.get(3) == Some(&b'~') {
                    4
                } else {
                    3
                }
            }
            Some(&b'{') => 0,
            Some(_) => 1,
        }
    }

    fn quoted(&mut self) -> bool {
        if self.template_opener() {
            return true;
        }
        let start = self.pos;
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return false;
        };
        match c {
            '"' => {
                self.emit(TokenKind::CQuote, start, start + 1);
                self.pop_mode();
                true
            }
            '\r' | '\n' => {
                let len = rest.find(|c| c != '\r' && c != '\n').unwrap_or(rest.len());
                self.emit(TokenKind::QuotedNewline, start, start + len);
                true
            }
            '$' | '%' => match self.lone_sigil_len() {
                0 => false,
                len => {
                    self.emit(TokenKind::QuotedLit, start, start + len);
                    true
                }
            },
            _ => {
                // A run of ordinary characters and backslash escapes.
                let mut chars = rest.char_indices().peekable();
                let mut len = 0;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '$' | '%' | '"' | '\r' | '\n' => break,
                        '\\' => match chars.peek() {
                            Some(&(j, e)) if e != '\r' && e != '\n' => {
                                chars.next();
                                len = j + e.len_utf8();
                            }
                            _ => break,
                        },
                        _ => len = i + c.len_utf8(),
                    }
                }
                if len == 0 {
                    // A backslash with nothing escapable after it.
                    self.emit(TokenKind::Invalid, start, start + c.len_utf8());
                } else {
                    self.emit(TokenKind::QuotedLit, start, start + len);
                }
                true
            }
        }
    }

    fn heredoc(&mut self) -> bool {
        if self.template_opener() {
            return true;
        }
        let start = self.pos;
        let sigil = self.lone_sigil_len();
        if sigil > 0 {
            self.emit(TokenKind::StringLit, start, start + sigil);
            if let Some(doc) = self.heredocs.last_mut() {
                doc.start_of_line = false;
            }
            return true;
        }
        let rest = self.rest();
        let body = rest.find(['$', '%', '\r', '\n']).unwrap_or(rest.len());
        let after = &rest[body..];
        let eol = if after.starts_with('\n') {
            1
        } else if after.starts_with("\r\n") {
            2
        } else {
            0
        };
        if eol == 0 {
            if body == 0 {
                // A lone `\r`, or a `$`/`%` at the very end: nothing matches.
                return false;
            }
            self.emit(TokenKind::StringLit, start, start + body);
            if let Some(doc) = self.heredocs.last_mut() {
                doc.start_of_line = false;
            }
            return true;
        }
        let is_marker = self
            .heredocs
            .last()
            .is_some_and(|doc| doc.start_of_line && rest[..body].trim() == doc.marker);
        if is_marker {
            // The marker and the newline after it are two tokens, so the newline still ends
            // the attribute the heredoc belongs to.
            self.emit(TokenKind::CHeredoc, start, start + body);
            self.emit(TokenKind::Newline, start + body, start + body + eol);
            self.heredocs.pop();
            self.pop_mode();
        } else {
            self.emit(TokenKind::StringLit, start, start + body + eol);
            if let Some(doc) = self.heredocs.last_mut() {
                doc.start_of_line = true;
            }
        }
        true
    }

    fn main(&mut self) -> bool {
        let start = self.pos;
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let Some(c) = rest.chars().next() else {
            return false;
        };
        let next = bytes.get(1).copied();
        let single = |kind| (kind, 1);
        let (kind, len) = match c {
            ' ' | '\t' => {
                let len = rest.find(|c| c != ' ' && c != '\t').unwrap_or(rest.len());
                self.pos = start + len;
                return true;
            }
            '0'..='9' => (TokenKind::NumberLit, number_len(bytes)),
            '#' => (TokenKind::Comment, line_comment_len(rest)),
            '/' if next == Some(b'/') => (TokenKind::Comment, line_comment_len(rest)),
            '/' if next == Some(b'*') => match rest[2..].find("*/") {
                Some(i) => (TokenKind::Comment, i + 4),
                None => single(TokenKind::Slash),
            },
            '\n' => single(TokenKind::Newline),
            '\r' if next == Some(b'\n') => (TokenKind::Newline, 2),
            '=' if next == Some(b'=') => (TokenKind::EqualOp, 2),
            '=' if next == Some(b'>') => (TokenKind::FatArrow, 2),
            '!' if next == Some(b'=') => (TokenKind::NotEqual, 2),
            '>' if next == Some(b'=') => (TokenKind::GreaterThanEq, 2),
            '<' => match heredoc_opener_len(rest) {
                Some(len) => {
                    self.emit(TokenKind::OHeredoc, start, start + len);
                    self.begin_heredoc(&rest[..len]);
                    return true;
                }
                None if next == Some(b'=') => (TokenKind::LessThanEq, 2),
                None => single(TokenKind::LessThan),
            },
            '&' if next == Some(b'&') => (TokenKind::And, 2),
            '|' if next == Some(b'|') => (TokenKind::Or, 2),
            '.' if rest.starts_with("...") => (TokenKind::Ellipsis, 3),
            '{' => {
                self.braces += 1;
                single(TokenKind::OBrace)
            }
            '}' => return self.close_brace(start, 1, false),
            '~' if next == Some(b'}') => return self.close_brace(start, 2, true),
            '"' => {
                self.emit(TokenKind::OQuote, start, start + 1);
                self.push_mode(Mode::Quoted);
                return true;
            }
            '[' => single(TokenKind::OBrack),
            ']' => single(TokenKind::CBrack),
            '(' => single(TokenKind::OParen),
            ')' => single(TokenKind::CParen),
            '.' => single(TokenKind::Dot),
            ',' => single(TokenKind::Comma),
            '*' => single(TokenKind::Star),
            '/' => single(TokenKind::Slash),
            '%' => single(TokenKind::Percent),
            '+' => single(TokenKind::Plus),
            '-' => single(TokenKind::Minus),
            '=' => single(TokenKind::Equal),
            '>' => single(TokenKind::GreaterThan),
            '!' => single(TokenKind::Bang),
            '?' => single(TokenKind::Question),
            ':' => single(TokenKind::Colon),
            '&' => single(TokenKind::BitwiseAnd),
            '|' => single(TokenKind::BitwiseOr),
            '~' => single(TokenKind::BitwiseNot),
            '^' => single(TokenKind::BitwiseXor),
            ';' => single(TokenKind::Semicolon),
            '`' => single(TokenKind::Backtick),
            '\'' => single(TokenKind::Apostrophe),
            c if is_ident_start(c) => (TokenKind::Ident, ident_len(rest)),
            c => (TokenKind::Invalid, c.len_utf8()),
        };
        self.emit(kind, start, start + len);
        true
    }

    /// `}` or `~}`: the end of an interpolation when it balances the `${` that opened it,
    /// otherwise an ordinary closing brace (`~}` is always a sequence end, so the parser can
    /// complain about it).
    fn close_brace(&mut self, start: usize, len: usize, strip: bool) -> bool {
        if self.ret_braces.last() == Some(&self.braces) {
            self.emit(TokenKind::TemplateSeqEnd, start, start + len);
            self.braces -= 1;
            self.ret_braces.pop();
            self.pop_mode();
        } else {
            let kind = if strip {
                TokenKind::TemplateSeqEnd
            } else {
                TokenKind::CBrace
            };
            self.emit(kind, start, start + len);
            self.braces -= 1;
        }
        true
    }

    fn begin_heredoc(&mut self, opener: &str) {
        let marker = opener
            .trim_start_matches('<')
            .trim_start_matches('-')
            .trim_end_matches('\n')
            .trim_end_matches('\r');
        self.heredocs.push(Heredoc {
            marker: marker.to_string(),
            start_of_line: true,
        });
        self.push_mode(Mode::Heredoc);
    }
}

/// Length of the number at the start of `bytes` (which starts with a digit): digits, dots and
/// exponents, never ending in a dot (`1.` is the number `1` and a dot).
fn number_len(bytes: &[u8]) -> usize {
    let mut i = 1;
    let mut good = 1;
    loop {
        match bytes.get(i) {
            Some(b'0'..=b'9') => {
                i += 1;
                good = i;
            }
            Some(b'.') => i += 1,
            Some(b'e' | b'E') => {
                let sign = matches!(bytes.get(i + 1), Some(b'+' | b'-')) as usize;
                if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
                    i += 2 + sign;
                    good = i;
                } else {
                    return good;
                }
            }
            _ => return good,
        }
    }
}

/// Length of a `#` or `//` comment, including the `\n` that ends it when there is one.
fn line_comment_len(rest: &str) -> usize {
    rest.find('\n').map_or(rest.len(), |i| i + 1)
}

/// Length of `<<EOT\n` or `<<-EOT\r\n` at the start of `rest`, if it is a heredoc opener.
fn heredoc_opener_len(rest: &str) -> Option<usize> {
    let after = rest.strip_prefix("<<")?;
    let dash = usize::from(after.starts_with('-'));
    let name = &after[dash..];
    if !name.chars().next().is_some_and(is_ident_start) {
        return None;
    }
    let ident = ident_len(name);
    let tail = &name[ident..];
    let newline = if tail.starts_with('\n') {
        1
    } else if tail.starts_with("\r\n") {
        2
    } else {
        return None;
    };
    Some(2 + dash + ident + newline)
}

/// Length of the identifier at the start of `rest`.
fn ident_len(rest: &str) -> usize {
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    let mut len = first.len_utf8();
    for (i, c) in chars {
        if !(is_ident_continue(c) || c == '-') {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

/// Unicode `ID_Start` or `_`, approximated with the standard library's `Alphabetic`.
fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic())
}

/// Unicode `ID_Continue`, approximated: letters, digits, `_` and combining marks.
fn is_ident_continue(c: char) -> bool {
    c == '_'
        || c.is_ascii_alphanumeric()
        || (!c.is_ascii() && (c.is_alphanumeric() || crate::format::width::is_combining(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        scan(text)
            .into_iter()
            .map(|t| (t.kind, &text[t.start..t.end]))
            .collect()
    }

    #[test]
    fn numbers_never_end_in_a_dot() {
        use TokenKind::*;
        assert_eq!(
            kinds("1.5e+3 1. 2"),
            [
                (NumberLit, "1.5e+3"),
                (NumberLit, "1"),
                (Dot, "."),
                (NumberLit, "2"),
                (Eof, "")
            ]
        );
    }

    #[test]
    fn quoted_templates_split_at_sigils_and_interpolations() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#""a $${b} ${c}$""#),
            [
                (OQuote, "\""),
                (QuotedLit, "a "),
                (QuotedLit, "$${"),
                (QuotedLit, "b} "),
                (TemplateInterp, "${"),
                (Ident, "c"),
                (TemplateSeqEnd, "}"),
                (QuotedLit, "$"),
                (CQuote, "\""),
                (Eof, "")
            ]
        );
    }

    #[test]
    fn heredoc_marker_and_newline_are_separate_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("x = <<-EOT\n  ${a}EOT\n  EOT\r\n"),
            [
                (Ident, "x"),
                (Equal, "="),
                (OHeredoc, "<<-EOT\n"),
                (StringLit, "  "),
                (TemplateInterp, "${"),
                (Ident, "a"),
                (TemplateSeqEnd, "}"),
                (StringLit, "EOT\n"),
                (CHeredoc, "  EOT"),
                (Newline, "\r\n"),
                (Eof, "")
            ]
        );
    }

    #[test]
    fn comments_keep_their_newline() {
        use TokenKind::*;
        assert_eq!(
            kinds("a /* b */ # c\n// d"),
            [
                (Ident, "a"),
                (Comment, "/* b */"),
                (Comment, "# c\n"),
                (Comment, "// d"),
                (Eof, "")
            ]
        );
    }

    #[test]
    fn braces_inside_interpolations_balance() {
        use TokenKind::*;
        let got: Vec<TokenKind> = kinds(r#""${ {a=1} }""#).into_iter().map(|t| t.0).collect();
        assert_eq!(
            got,
            [
                OQuote,
                TemplateInterp,
                OBrace,
                Ident,
                Equal,
                NumberLit,
                CBrace,
                TemplateSeqEnd,
                CQuote,
                Eof
            ]
        );
    }
}
