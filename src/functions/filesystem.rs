//! Filesystem functions: abspath, basename, dirname, file, fileexists, fileset, pathexpand; with
//! Go's `path/filepath` rules (Clean, Join, Base, Dir, Rel) and doublestar globbing.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::{convert, Type, Value};
use std::io::Read;
use std::path::Path;

/// The largest file `file()` reads.
const MAX_FILE_BYTES: u64 = 512 << 20;

/// Go's `filepath.Clean` for slash-separated paths.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Join` of two elements.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

/// Go's `filepath.Rel` for two cleaned paths of the same kind.
fn rel(base: &str, target: &str) -> String {
    let split = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(String::from)
            .collect()
    };
    let (b, t) = (split(base), split(target));
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); b.len() - common];
    parts.extend(t[common..].iter().cloned());
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn base_dir(ctx: &FunctionContext) -> String {
    ctx.base_dir.to_string_lossy().into_owned()
}

/// go-homedir's `Expand`: a leading `~` or `~/` becomes $HOME.
fn expand_home(path: &str) -> Result<String, String> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    if !rest.is_empty() && !rest.starts_with('/') && !rest.starts_with('\\') {
        return Err("cannot expand user-specific home dir".into());
    }
    let home = std::env::var("HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or("$HOME is not defined")?;
    Ok(join(&home, rest))
}

/// A path as the file functions resolve it: `~` expanded, relative to the base directory.
fn resolve(ctx: &FunctionContext, path: &str) -> Result<String, FunctionError> {
    let path =
        expand_home(path).map_err(|e| FunctionError::new(format!("failed to expand ~: {e}")))?;
    Ok(if path.starts_with('/') {
        clean(&path)
    } else {
        join(&base_dir(ctx), &path)
    })
}

pub(super) fn file(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let original = args.string(0)?;
    let path = resolve(ctx, &original)?;
    let mut f = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FunctionError::new(format!("no file exists at {path}")),
        _ => FunctionError::new(format!("failed to read {path}")),
    })?;
    let mut bytes = Vec::new();
    f.by_ref()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| FunctionError::new(format!("failed to read {path}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FunctionError::new(format!(
            "{path} is larger than {} MiB",
            MAX_FILE_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FunctionError::new(format!(
            "contents of {original} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead"
        ))
    })
}

pub(super) fn fileexists(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let path = resolve(ctx, &args.string(0)?)?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Value::Bool(true)),
        Ok(meta) => Err(FunctionError::new(format!(
            "{path} is not a regular file, but {:?}",
            mode_string(&meta)
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(_) => Err(FunctionError::new(format!("failed to stat {path}"))),
    }
}

/// Go's `FileMode.String()`, such as `drwxr-xr-x`.
fn mode_string(meta: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let ft = meta.file_type();
        let mode = meta.permissions().mode();
        let mut out = String::new();
        let flags = [
            (ft.is_dir(), 'd'),
            (ft.is_symlink(), 'L'),
            (ft.is_block_device() || ft.is_char_device(), 'D'),
            (ft.is_fifo(), 'p'),
            (ft.is_socket(), 'S'),
            (mode & 0o4000 != 0, 'u'),
            (mode & 0o2000 != 0, 'g'),
            (ft.is_char_device(), 'c'),
            (mode & 0o1000 != 0, 't'),
        ];
        out.extend(flags.iter().filter(|(on, _)| *on).map(|(_, c)| c));
        if out.is_empty() {
            out.push('-');
        }
        for (i, c) in "rwxrwxrwx".chars().enumerate() {
            out.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
        }
        out
    }
    #[cfg(not(unix))]
    {
        if meta.is_dir() {
            "d---------"
        } else {
            "----------"
        }
        .to_string()
    }
}

pub(super) fn fileset(args: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let pattern = args.string(1)?;
    let path = if path.starts_with('/') {
        clean(&path)
    } else {
        join(&base_dir(ctx), &path)
    };
    let full = join(&path, &pattern);
    let matches = glob(&full)
        .map_err(|e| FunctionError::new(format!("failed to glob pattern ({full}): {e}")))?;
    let mut found = Vec::new();
    for m in matches {
        let meta = std::fs::metadata(&m)
            .map_err(|e| FunctionError::new(format!("failed to stat ({m}): {e}")))?;
        if meta.is_file() {
            found.push(Value::String(rel(&path, &m)));
        }
    }
    convert(Value::Tuple(found), &Type::Set(Box::new(Type::String)))
        .map_err(|e| FunctionError::new(e.to_string()))
}

pub(super) fn basename(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    if path.is_empty() {
        return Ok(Value::string("."));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::string("/"));
    }
    Ok(Value::string(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

pub(super) fn dirname(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::String(clean(dir)))
}

pub(super) fn abspath(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let path = args.string(0)?;
    if path.starts_with('/') {
        return Ok(Value::String(clean(&path)));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| FunctionError::new(format!("cannot find the working directory: {e}")))?;
    Ok(Value::String(join(&cwd.to_string_lossy(), &path)))
}

pub(super) fn pathexpand(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    expand_home(&args.string(0)?)
        .map(Value::String)
        .map_err(FunctionError::new)
}

/// doublestar's `Glob`: `*`, `?`, `[...]`, `{a,b}` within a component, `**` across them.
fn glob(pattern: &str) -> Result<Vec<String>, String> {
    let (base, rest) = match pattern.strip_prefix('/') {
        Some(rest) => ("/".to_string(), rest),
        None => (String::new(), pattern),
    };
    let components: Vec<&str> = rest.split('/').filter(|c| !c.is_empty()).collect();
    for c in &components {
        validate(c)?;
    }
    let mut out = Vec::new();
    walk(base, &components, &mut out)?;
    Ok(out)
}

fn child(dir: &str, name: &str) -> String {
    match dir {
        "" => name.to_string(),
        d if d.ends_with('/') => format!("{d}{name}"),
        d => format!("{d}/{name}"),
    }
}

fn walk(mut dir: String, components: &[&str], out: &mut Vec<String>) -> Result<(), String> {
    let mut i = 0;
    while let Some(c) = components
        .get(i)
        .filter(|c| !c.contains(['*', '?', '[', '{', '\\']))
    {
        dir = child(&dir, c);
        i += 1;
    }
    let Some(&component) = components.get(i) else {
        if Path::new(if dir.is_empty() { "." } else { &dir })
            .symlink_metadata()
            .is_ok()
        {
            out.push(dir);
        }
        return Ok(());
    };
    let Ok(read) = std::fs::read_dir(if dir.is_empty() { "." } else { &dir }) else {
        return Ok(());
    };
    let mut entries: Vec<(String, bool)> = read
        .filter_map(Result::ok)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.file_type().is_ok_and(|t| t.is_dir()),
            )
        })
        .collect();
    entries.sort();
    let mut last = i + 1 == components.len();
    if component == "**" {
        for (name, is_dir) in &entries {
            if *is_dir {
                if last {
                    out.push(child(&dir, name));
                }
                walk(child(&dir, name), &components[i..], out)?;
            } else if last {
                out.push(child(&dir, name));
            }
        }
        if last {
            return Ok(());
        }
        i += 1;
        last = i + 1 == components.len();
    }
    let Some(&component) = components.get(i) else {
        return Ok(());
    };
    let pat: Vec<char> = component.chars().collect();
    for (name, _) in &entries {
        let name_chars: Vec<char> = name.chars().collect();
        if matches(&pat, &name_chars) {
            if last {
                out.push(child(&dir, name));
            } else {
                walk(child(&dir, name), &components[i + 1..], out)?;
            }
        }
    }
    Ok(())
}

/// Reject the malformed patterns doublestar reports as "syntax error in pattern".
fn validate(component: &str) -> Result<(), String> {
    let bad = || "syntax error in pattern".to_string();
    let chars: Vec<char> = component.chars().collect();
    let mut braces = 0usize;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err(bad());
                }
                i += 1;
            }
            '[' => i = class_end(&chars, i).ok_or_else(bad)?,
            '{' => braces += 1,
            '}' if braces > 0 => braces -= 1,
            _ => {}
        }
        i += 1;
    }
    if braces > 0 {
        return Err(bad());
    }
    Ok(())
}

/// The index of the `]` closing the class that opens at `start`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if matches!(p.get(i), Some('^' | '!')) {
        i += 1;
    }
    let mut first = true;
    while let Some(&c) = p.get(i) {
        match c {
            ']' if !first => return Some(i),
            '\\' => i += 1,
            _ => {}
        }
        first = false;
        i += 1;
    }
    None
}

/// How many brace alternatives one component may expand to.
const BRACE_LIMIT: usize = 4096;

/// Match one path component against one pattern component.
fn matches(p: &[char], s: &[char]) -> bool {
    let mut patterns = Vec::new();
    expand_braces(p, &mut patterns);
    patterns.iter().any(|p| {
        let mut memo = vec![None; (p.len() + 1) * (s.len() + 1)];
        match_at(p, s, 0, 0, &mut memo)
    })
}

/// The brace-free patterns a component stands for: `{a,b}c` is `ac` and `bc`.
fn expand_braces(p: &[char], out: &mut Vec<Vec<char>>) {
    if out.len() >= BRACE_LIMIT {
        return;
    }
    let mut i = 0;
    while let Some(&c) = p.get(i) {
        match c {
            '\\' => i += 2,
            '[' => i = class_end(p, i).map_or(p.len(), |end| end + 1),
            '{' => {
                if let Some((alternatives, after)) = split_braces(&p[i..]) {
                    for alt in alternatives {
                        let mut expanded = p[..i].to_vec();
                        expanded.extend(alt);
                        expanded.extend_from_slice(after);
                        expand_braces(&expanded, out);
                    }
                    return;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(p.to_vec());
}

/// Whether `p[pi..]` matches `s[si..]`, memoised so runs of `*` stay polynomial.
fn match_at(p: &[char], s: &[char], pi: usize, si: usize, memo: &mut [Option<bool>]) -> bool {
    let key = pi * (s.len() + 1) + si;
    if let Some(known) = memo.get(key).copied().flatten() {
        return known;
    }
    let result = match p.get(pi) {
        None => si == s.len(),
        Some('*') => (si..=s.len()).any(|k| match_at(p, s, pi + 1, k, memo)),
        Some('?') => si < s.len() && match_at(p, s, pi + 1, si + 1, memo),
        Some('\\') => {
            p.get(pi + 1).is_some_and(|e| s.get(si) == Some(e))
                && match_at(p, s, pi + 2, si + 1, memo)
        }
        Some('[') => match (class_end(p, pi), s.get(si)) {
            (Some(end), Some(&ch)) => {
                class_matches(&p[pi + 1..end], ch) && match_at(p, s, end + 1, si + 1, memo)
            }
            _ => false,
        },
        Some(c) => s.get(si) == Some(c) && match_at(p, s, pi + 1, si + 1, memo),
    };
    if let Some(slot) = memo.get_mut(key) {
        *slot = Some(result);
    }
    result
}

fn class_matches(class: &[char], ch: char) -> bool {
    let (negated, class) = match class.first() {
        Some('^' | '!') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    let take = |i: &mut usize| {
        let mut c = class[*i];
        if c == '\\' && *i + 1 < class.len() {
            *i += 1;
            c = class[*i];
        }
        *i += 1;
        c
    };
    while i < class.len() {
        let lo = take(&mut i);
        let hi = if class.get(i) == Some(&'-') && i + 1 < class.len() {
            i += 1;
            take(&mut i)
        } else {
            lo
        };
        hit |= lo <= ch && ch <= hi;
    }
    hit != negated
}

/// The alternatives of a `{a,b}` group at the start of `p`, and what follows it.
fn split_braces(p: &[char]) -> Option<(Vec<Vec<char>>, &[char])> {
    let mut depth = 0;
    let mut alternatives = vec![Vec::new()];
    let mut i = 1;
    while let Some(&c) = p.get(i) {
        match c {
            '\\' => {
                let current = alternatives.last_mut()?;
                current.push(c);
                if let Some(&e) = p.get(i + 1) {
                    current.push(e);
                }
                i += 1;
            }
            '{' => {
                depth += 1;
                alternatives.last_mut()?.push(c);
            }
            '}' if depth == 0 => return Some((alternatives, &p[i + 1..])),
            '}' => {
                depth -= 1;
                alternatives.last_mut()?.push(c);
            }
            ',' if depth == 0 => alternatives.push(Vec::new()),
            c => alternatives.last_mut()?.push(c),
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::clean;
    use crate::functions::tests::*;
    use crate::functions::{call, FunctionContext};
    use crate::value::Value;

    /// The fixture's files as `packer console` saw them (greeting.tpl has since been replaced by
    /// other templates, so the `**` listing is checked by shape).
    #[test]
    fn fixture_file_and_fileexists() {
        assert_eq!(ok("file", vec![s("files/hello.txt")]), s("Hello, world!\n"));
        assert_eq!(
            ok("file", vec![s("files/plain.txt")]),
            s("no trailing newline")
        );
        let m = fails("file", vec![s("tests/fixtures/console/files/hello.txt")]);
        assert!(
            m.starts_with("no file exists at ")
                && m.ends_with("tests/fixtures/console/tests/fixtures/console/files/hello.txt"),
            "{m}"
        );
        let m = fails("file", vec![s("files/missing.txt")]);
        assert!(
            m.ends_with("tests/fixtures/console/files/missing.txt"),
            "{m}"
        );
        let m = fails("file", vec![s("files")]);
        assert!(
            m.starts_with("failed to read ") && m.ends_with("tests/fixtures/console/files"),
            "{m}"
        );
        assert_eq!(
            ok("fileexists", vec![s("files/hello.txt")]),
            Value::Bool(true)
        );
        assert_eq!(
            ok("fileexists", vec![s("files/missing.txt")]),
            Value::Bool(false)
        );
        assert_eq!(
            ok(
                "fileexists",
                vec![s("tests/fixtures/console/files/hello.txt")]
            ),
            Value::Bool(false)
        );
        let m = fails("fileexists", vec![s("files")]);
        assert!(
            m.ends_with("tests/fixtures/console/files is not a regular file, but \"drwxr-xr-x\""),
            "{m}"
        );
    }

    #[test]
    fn relative_base_dir_shows_in_messages() {
        let ctx = FunctionContext {
            base_dir: "tests/fixtures/console".into(),
            timestamp: String::new(),
            env_allowed: false,
        };
        let e = call("file", vec![s("files/missing.txt")], &ctx).unwrap_err();
        assert_eq!(
            e.message,
            "no file exists at tests/fixtures/console/files/missing.txt"
        );
    }

    #[test]
    fn fixture_fileset() {
        assert_eq!(
            json(&ok("fileset", vec![s("files"), s("*.txt")])),
            r#"["hello.txt","plain.txt"]"#
        );
        let all = json(&ok("fileset", vec![s("files"), s("**")]));
        for f in [
            "hello.txt",
            "plain.txt",
            "rsa-key.pem",
            "sub/a.txt",
            "sub/b.txt",
            "sub/data.json",
        ] {
            assert!(all.contains(&format!("\"{f}\"")), "{all}");
        }
        assert!(!all.contains("\"sub\""), "{all}");
        assert_eq!(
            json(&ok("fileset", vec![s("files/sub"), s("*.{txt,json}")])),
            r#"["a.txt","b.txt","data.json"]"#
        );
        assert_eq!(json(&ok("fileset", vec![s("files"), s("nothing*")])), "[]");
        assert_eq!(
            json(&ok(
                "fileset",
                vec![s("tests/fixtures/console/files"), s("*.txt")]
            )),
            "[]"
        );
        let m = fails("fileset", vec![s("files"), s("[")]);
        assert!(
            m.starts_with("failed to glob pattern (")
                && m.ends_with("files/[): syntax error in pattern"),
            "{m}"
        );
        assert_eq!(
            json(&ok("fileset", vec![s("files"), s("**/a.txt")])),
            r#"["sub/a.txt"]"#
        );
        assert_eq!(
            json(&ok("fileset", vec![s("files"), s("sub/[ab].txt")])),
            r#"["sub/a.txt","sub/b.txt"]"#
        );
        assert_eq!(
            json(&ok("fileset", vec![s("files"), s("sub/[!a].txt")])),
            r#"["sub/b.txt"]"#
        );
        assert_eq!(
            json(&ok("fileset", vec![s("files"), s("h?llo.txt")])),
            r#"["hello.txt"]"#
        );
    }

    #[test]
    fn fixture_path_functions() {
        assert_eq!(ok("basename", vec![s("foo/bar/baz.txt")]), s("baz.txt"));
        assert_eq!(ok("basename", vec![s("/")]), s("/"));
        assert_eq!(ok("basename", vec![s("")]), s("."));
        assert_eq!(ok("basename", vec![s("foo/")]), s("foo"));
        assert_eq!(ok("dirname", vec![s("foo/bar/baz.txt")]), s("foo/bar"));
        assert_eq!(ok("dirname", vec![s("baz.txt")]), s("."));
        assert_eq!(ok("dirname", vec![s("/")]), s("/"));
        assert_eq!(ok("dirname", vec![s("")]), s("."));
        assert_eq!(ok("abspath", vec![s("/a/b/../c")]), s("/a/c"));
        let abs = ok("abspath", vec![s("x")]);
        assert!(abs
            .as_str()
            .is_some_and(|p| p.starts_with('/') && p.ends_with("/x")));
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(
                ok("pathexpand", vec![s("~/x")]),
                s(&format!("{}/x", clean(&home)))
            );
        }
        assert_eq!(ok("pathexpand", vec![s("/abs/path")]), s("/abs/path"));
        assert_eq!(ok("pathexpand", vec![s("rel")]), s("rel"));
        fails("pathexpand", vec![s("~bob/x")]);
    }

    #[test]
    fn go_clean() {
        assert_eq!(clean("a/../../b/./c//"), "../b/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("a/.."), ".");
    }
}
