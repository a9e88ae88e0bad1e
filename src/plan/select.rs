//! `-only` and `-except`: Packer's glob patterns (gobwas/glob without separators) matched
//! against build names (`build.type.name`) and, for `-except`, post-processor names.

/// A compiled glob: `*` any run of characters, `?` one character, `[abc]`, `[a-z]`, `[!abc]`
/// classes, `{a,b}` alternatives and `\` escapes. A name equal to the pattern always matches,
/// so `web["us-east-1"]` can be selected without escaping its brackets.
#[derive(Clone, Debug)]
pub struct Glob {
    text: String,
    /// The pattern with its `{a,b}` alternatives expanded.
    alternatives: Vec<Vec<Token>>,
    /// Why the pattern is not a valid glob (it then matches only the name equal to it).
    error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Char(char),
    AnyOne,
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// More expanded alternatives than this is a pattern nobody means.
const MAX_ALTERNATIVES: usize = 1024;

impl Glob {
    /// Compile `pattern`, or say what is wrong with it.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let (alternatives, end) = parse_seq(&chars, 0, false)?;
        if end != chars.len() {
            return Err(format!("unexpected `{}`", chars[end]));
        }
        Ok(Glob {
            text: pattern.to_string(),
            alternatives,
            error: None,
        })
    }

    /// Compile `pattern`; one that is not a valid glob matches only the name equal to it, and
    /// keeps the reason for messages.
    pub fn lenient(pattern: &str) -> Glob {
        Glob::new(pattern).unwrap_or_else(|error| Glob {
            text: pattern.to_string(),
            alternatives: Vec::new(),
            error: Some(error),
        })
    }

    /// Why the pattern is not a valid glob, if it is not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        if name == self.text {
            return true;
        }
        let name: Vec<char> = name.chars().collect();
        self.alternatives
            .iter()
            .any(|tokens| matches(tokens, &name))
    }
}

/// Parse tokens up to the end, or (inside braces) up to a `,` or `}`. Returns every expansion of
/// the sequence and the position where parsing stopped.
fn parse_seq(
    chars: &[char],
    mut i: usize,
    in_braces: bool,
) -> Result<(Vec<Vec<Token>>, usize), String> {
    let mut out: Vec<Vec<Token>> = vec![Vec::new()];
    let push =
        |out: &mut Vec<Vec<Token>>, t: Token| out.iter_mut().for_each(|seq| seq.push(t.clone()));
    while i < chars.len() {
        let c = chars[i];
        match c {
            ',' | '}' if in_braces => return Ok((out, i)),
            '*' => {
                // `**` is the same as `*` when there are no separators.
                while chars.get(i + 1) == Some(&'*') {
                    i += 1;
                }
                push(&mut out, Token::Any);
            }
            '?' => push(&mut out, Token::AnyOne),
            '\\' => {
                i += 1;
                let escaped = chars.get(i).ok_or("a `\\` at the end escapes nothing")?;
                push(&mut out, Token::Char(*escaped));
            }
            '[' => {
                let (token, end) = parse_class(chars, i)?;
                push(&mut out, token);
                i = end;
            }
            '{' => {
                let mut options: Vec<Vec<Token>> = Vec::new();
                loop {
                    let (alts, end) = parse_seq(chars, i + 1, true)?;
                    options.extend(alts);
                    match chars.get(end) {
                        Some(',') => i = end,
                        Some('}') => {
                            i = end;
                            break;
                        }
                        _ => return Err("a `{` is never closed".into()),
                    }
                }
                let mut next = Vec::with_capacity(out.len() * options.len());
                for prefix in &out {
                    for option in &options {
                        let mut seq = prefix.clone();
                        seq.extend(option.iter().cloned());
                        next.push(seq);
                    }
                }
                if next.len() > MAX_ALTERNATIVES {
                    return Err("too many `{a,b}` alternatives".into());
                }
                out = next;
            }
            c => push(&mut out, Token::Char(c)),
        }
        i += 1;
    }
    Ok((out, i))
}

/// `[abc]`, `[a-z]`, `[!abc]` starting at `start`; returns the token and the index of `]`.
fn parse_class(chars: &[char], start: usize) -> Result<(Token, usize), String> {
    let mut i = start + 1;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    while let Some(&c) = chars.get(i) {
        if c == ']' {
            if ranges.is_empty() {
                return Err("an empty `[]` class matches nothing".into());
            }
            return Ok((Token::Class { negated, ranges }, i));
        }
        let lo = if c == '\\' {
            i += 1;
            *chars.get(i).ok_or("a `[` is never closed")?
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|c| *c != ']') {
            let hi = chars[i + 2];
            if hi < lo {
                return Err(format!("the range `{lo}-{hi}` is backwards"));
            }
            ranges.push((lo, hi));
            i += 3;
        } else {
            ranges.push((lo, lo));
            i += 1;
        }
    }
    Err("a `[` is never closed".into())
}

/// Dynamic programming over (token, character): linear in both, whatever the pattern.
fn matches(tokens: &[Token], name: &[char]) -> bool {
    // reach[j]: the tokens so far can consume exactly name[..j].
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for token in tokens {
        let mut next = vec![false; name.len() + 1];
        match token {
            Token::Any => {
                let mut any = false;
                for j in 0..=name.len() {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 0..name.len() {
                    if reach[j] && single(token, name[j]) {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[name.len()]
}

fn single(token: &Token, c: char) -> bool {
    match token {
        Token::Char(x) => *x == c,
        Token::AnyOne => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        Token::Any => true,
    }
}

/// Split a flag value on the commas outside `{...}` (`-only=a.*,b.*`), dropping empty parts.
fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut escaped) = (0usize, 0, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// The `-only` and `-except` patterns of one run, with how often each matched.
#[derive(Debug, Default)]
pub struct Selection {
    only: Vec<(Glob, usize)>,
    except: Vec<(Glob, usize)>,
}

impl Selection {
    /// Compile the patterns (comma-separated lists allowed). A pattern that is not a valid glob
    /// still selects the name equal to it, so `web["us-east-1"]` needs no escaping.
    pub fn new(only: &[String], except: &[String]) -> Selection {
        let compile = |patterns: &[String]| -> Vec<(Glob, usize)> {
            patterns
                .iter()
                .flat_map(|p| split_list(p))
                .map(|p| (Glob::lenient(p), 0))
                .collect()
        };
        Selection {
            only: compile(only),
            except: compile(except),
        }
    }

    /// Whether a session with Packer's build `name` runs.
    pub fn includes(&mut self, name: &str) -> bool {
        if !self.only.is_empty() {
            let Some(hit) = self.only.iter_mut().find(|(g, _)| g.matches(name)) else {
                return false;
            };
            hit.1 += 1;
        }
        if let Some(hit) = self.except.iter_mut().find(|(g, _)| g.matches(name)) {
            hit.1 += 1;
            return false;
        }
        true
    }

    /// Whether `-except` removes a post-processor called `name` (its `name = ...` or type).
    pub fn excludes_post_processor(&mut self, name: &str) -> bool {
        match self.except.iter_mut().find(|(g, _)| g.matches(name)) {
            Some(hit) => {
                hit.1 += 1;
                true
            }
            None => false,
        }
    }

    /// True when `-only` was given.
    pub fn has_only(&self) -> bool {
        !self.only.is_empty()
    }

    /// The `-only` patterns that matched no build.
    pub fn unmatched_only(&self) -> Vec<&Glob> {
        self.only
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(g, _)| g)
            .collect()
    }

    /// The `-except` patterns that matched neither a build nor a post-processor.
    pub fn unmatched_except(&self) -> Vec<&Glob> {
        self.except
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(g, _)| g)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{split_list, Glob};

    #[test]
    fn flag_values_split_on_commas_outside_braces() {
        assert_eq!(split_list("a.*, b.*,,{x,y}.z"), ["a.*", "b.*", "{x,y}.z"]);
    }

    fn m(pattern: &str, name: &str) -> bool {
        Glob::new(pattern).expect("valid pattern").matches(name)
    }

    #[test]
    fn globs_match_like_packer() {
        assert!(m("*", "ubuntu.amazon-ebs.east"));
        assert!(m("ubuntu.*", "ubuntu.amazon-ebs.east"));
        assert!(!m("ubuntu.*", "debian.amazon-ebs.east"));
        assert!(m("*.east", "ubuntu.amazon-ebs.east"));
        assert!(m("amazon-ebs.?ast", "amazon-ebs.east"));
        assert!(m("amazon-ebs.[a-f]ast", "amazon-ebs.east"));
        assert!(!m("amazon-ebs.[!e]ast", "amazon-ebs.east"));
        assert!(m("{ubuntu,debian}.*", "debian.null.a"));
        assert!(m("a.{b,c{d,e}}", "a.ce"));
        assert!(!m("a.{b,c{d,e}}", "a.c"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("**", ""));
        assert!(!m("null.a", "null.ab"));
    }

    #[test]
    fn a_name_equal_to_the_pattern_matches_despite_brackets() {
        let name = "amazon-ebs.web[\"us-east-1\"]";
        let literal = Glob::lenient(name);
        assert!(literal.error().is_some(), "`s-e` is a backwards range");
        assert!(literal.matches(name));
        assert!(!literal.matches("amazon-ebs.web[\"eu-west-1\"]"));
        assert!(m("amazon-ebs.web*", name));
    }

    #[test]
    fn bad_patterns_are_errors_not_panics() {
        for p in ["[abc", "{a,b", "a\\", "[]", "[z-a]"] {
            assert!(Glob::new(p).is_err(), "{p}");
        }
        let long = "*a".repeat(200);
        assert!(!m(&long, &"a".repeat(150)));
        assert!(Glob::new(&"{a,b}".repeat(20)).is_err());
    }
}
