//! Packer's legacy `{{ }}` interpolation inside plugin string fields (`ami_name =
//! "my-ami-{{timestamp}}"`): a small Go-template subset with Packer's template functions.

use super::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::functions::gotime;
use crate::value::Value;
use std::collections::BTreeMap;

/// What legacy templates can read.
#[derive(Clone, Debug, Default)]
pub struct LegacyContext {
    /// Seconds since the Unix epoch for `{{timestamp}}` and `{{isotime}}` (one per run).
    pub unix_time: i64,
    pub build_name: String,
    pub build_type: String,
    /// `{{ .Name }}`-style build variables, and `{{ build `ID` }}`.
    pub build: BTreeMap<String, String>,
    /// `{{ user `x` }}`
    pub user: BTreeMap<String, String>,
    pub template_dir: String,
    pub pwd: String,
    pub packer_version: String,
}

/// Expand every `{{ ... }}` action in `text`.
pub fn expand(text: &str, ctx: &LegacyContext) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "`{{` has no closing `}}`".to_string())?;
        let action = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        out.push_str(&pipeline(action, ctx)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expand the legacy templates in every string of an evaluated body, as Packer does when it
/// prepares a builder. A string whose template fails to expand is left as written (`check_body`
/// reports it).
pub fn expand_body(body: &mut BodyValue, ctx: &LegacyContext) {
    for attr in &mut body.attrs {
        expand_value(&mut attr.value, ctx);
    }
    for block in &mut body.blocks {
        expand_body(&mut block.body, ctx);
    }
}

fn expand_value(v: &mut Value, ctx: &LegacyContext) {
    match v {
        Value::String(s) if s.contains("{{") => {
            if let Ok(expanded) = expand(s, ctx) {
                *s = expanded;
            }
        }
        Value::Sensitive(inner) => expand_value(inner, ctx),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            xs.iter_mut().for_each(|x| expand_value(x, ctx))
        }
        Value::Map(m) | Value::Object(m) => m.values_mut().for_each(|x| expand_value(x, ctx)),
        _ => {}
    }
}

/// Seconds since the Unix epoch of an RFC 3339 time such as `2026-11-24T12:00:00Z`.
pub fn unix_from_rfc3339(text: &str) -> Option<i64> {
    gotime::parse_rfc3339(text).ok().map(|t| t.instant().0)
}

/// Check the legacy templates in every string of an evaluated body.
pub fn check_body(body: &BodyValue, diags: &mut Vec<Diagnostic>) {
    let ctx = LegacyContext::default();
    for attr in &body.attrs {
        for s in strings(&attr.value) {
            if s.contains("{{") {
                if let Err(e) = expand(&s, &ctx) {
                    diags.push(
                        Diagnostic::error(attr.value_span, format!("invalid `{{{{ }}}}` template in `{}`: {e}", attr.name))
                            .with_hint("the functions are timestamp, isotime, uuid, clean_resource_name, build_name, build_type, lower, upper, replace, replace_all, split, pwd, template_dir, packer_version, user and build"),
                    );
                }
            }
        }
    }
    for block in &body.blocks {
        check_body(&block.body, diags);
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v.unmark().0 {
        Value::String(s) => vec![s.clone()],
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            xs.iter().flat_map(strings).collect()
        }
        Value::Map(m) | Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// `cmd arg | cmd2 | ...`: each command's result is passed as the last argument of the next.
fn pipeline(action: &str, ctx: &LegacyContext) -> Result<String, String> {
    let mut value: Option<String> = None;
    for command in action.split('|') {
        let mut args = words(command.trim())?;
        if args.is_empty() {
            return Err("empty action".into());
        }
        if let Some(v) = value.take() {
            args.push(Word::Literal(v));
        }
        value = Some(call(&args, ctx)?);
    }
    value.ok_or_else(|| "empty action".into())
}

#[derive(Debug)]
enum Word {
    Name(String),
    Literal(String),
}

fn words(command: &str) -> Result<Vec<Word>, String> {
    let mut out = Vec::new();
    let mut chars = command.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '"' | '`' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    if d == '\\' && c == '"' {
                        if let Some((_, e)) = chars.next() {
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                        continue;
                    }
                    s.push(d);
                }
                if !closed {
                    return Err(format!("unterminated string in `{command}`"));
                }
                out.push(Word::Literal(s));
            }
            _ => {
                let start = i;
                let mut end = command.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d == ' ' || d == '\t' {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                let w = &command[start..end];
                if w.chars().all(|c| c.is_ascii_digit() || c == '-') && w != "-" {
                    out.push(Word::Literal(w.to_string()));
                } else {
                    out.push(Word::Name(w.to_string()));
                }
            }
        }
    }
    Ok(out)
}

fn call(args: &[Word], ctx: &LegacyContext) -> Result<String, String> {
    let literal = |i: usize| -> Result<&str, String> {
        match args.get(i) {
            Some(Word::Literal(s)) => Ok(s),
            Some(Word::Name(n)) => Err(format!("expected a quoted argument, found `{n}`")),
            None => Err("missing argument".into()),
        }
    };
    let name = match &args[0] {
        Word::Name(n) => n.as_str(),
        Word::Literal(s) => return Ok(s.clone()),
    };
    if let Some(field) = name.strip_prefix('.') {
        return ctx
            .build
            .get(field)
            .cloned()
            .or_else(|| (field == "Name" || field == "BuildName").then(|| ctx.build_name.clone()))
            .ok_or_else(|| format!("no build variable `.{field}`"));
    }
    match name {
        "timestamp" => Ok(ctx.unix_time.to_string()),
        "isotime" => {
            let layout = if args.len() > 1 {
                literal(1)?
            } else {
                "2006-01-02T15:04:05Z07:00"
            };
            Ok(go_time_format(ctx.unix_time, layout))
        }
        "uuid" => Ok(time_ordered_uuid()),
        "clean_resource_name" => Ok(clean_resource_name(literal(1)?)),
        "lower" => Ok(literal(1)?.to_lowercase()),
        "upper" => Ok(literal(1)?.to_uppercase()),
        "replace" => {
            let (old, new, n, s) = (literal(1)?, literal(2)?, literal(3)?, literal(4)?);
            let n: i64 = n.parse().map_err(|_| "replace needs a count")?;
            Ok(if n < 0 {
                s.replace(old, new)
            } else {
                s.replacen(old, new, n as usize)
            })
        }
        "replace_all" => Ok(literal(3)?.replace(literal(1)?, literal(2)?)),
        "split" => {
            let (s, sep, n) = (literal(1)?, literal(2)?, literal(3)?);
            let n: usize = n.parse().map_err(|_| "split needs an index")?;
            Ok(s.split(sep).nth(n).unwrap_or("").to_string())
        }
        "build_name" => Ok(ctx.build_name.clone()),
        "build_type" => Ok(ctx.build_type.clone()),
        "packer_version" => Ok(ctx.packer_version.clone()),
        "pwd" => Ok(ctx.pwd.clone()),
        "template_dir" => Ok(ctx.template_dir.clone()),
        "user" => {
            let key = literal(1)?;
            ctx.user
                .get(key)
                .cloned()
                .ok_or_else(|| format!("no user variable `{key}`"))
        }
        "build" => {
            let key = literal(1)?;
            Ok(ctx.build.get(key).cloned().unwrap_or_default())
        }
        "env" => Err(
            "`env` is not available in HCL2 templates; use a variable with an env() default".into(),
        ),
        other => Err(format!("unknown function `{other}`")),
    }
}

/// Packer's `clean_resource_name`: lowercase, and characters AMI/GCE names reject become `-`.
fn clean_resource_name(s: &str) -> String {
    s.chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `{{uuid}}` as Packer makes it (`uuid.TimeOrderedUUID`): the Unix time in seconds as the first
/// eight hex digits, so values sort by when they were made, then 12 random bytes.
fn time_ordered_uuid() -> String {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    // A v4 UUID's bytes come from the OS's random source; all but the version and variant
    // bits (in bytes 6 and 8) are random, and 12 of those are taken.
    let r = *uuid::Uuid::new_v4().as_bytes();
    let b = [
        r[0], r[1], r[2], r[3], r[4], r[5], r[9], r[10], r[11], r[12], r[13], r[14],
    ];
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!(
        "{unix:08x}-{}-{}-{}-{}",
        hex(&b[0..2]),
        hex(&b[2..4]),
        hex(&b[4..6]),
        hex(&b[6..12])
    )
}

/// Format a UTC Unix time with a Go reference layout (`2006-01-02T15:04:05Z07:00`).
pub fn go_time_format(unix: i64, layout: &str) -> String {
    gotime::go_layout(&gotime::Time::from_unix(unix), layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_ordered_by_time_as_packer_lays_them_out() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let layout =
            regex::Regex::new("^([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
                .unwrap();
        let made: Vec<String> = (0..1000).map(|_| super::time_ordered_uuid()).collect();
        let distinct: std::collections::HashSet<&String> = made.iter().collect();
        assert_eq!(distinct.len(), 1000);
        for u in &made {
            let time = layout.captures(u).unwrap_or_else(|| panic!("{u}"))[1].to_string();
            let secs = u64::from_str_radix(&time, 16).unwrap();
            assert!(
                secs.abs_diff(now) <= 5,
                "{u} starts with {secs}, not about {now}"
            );
        }
    }

    fn ctx() -> LegacyContext {
        LegacyContext {
            unix_time: 1_732_464_000,
            build_name: "web".into(),
            build_type: "amazon-ebs".into(),
            ..LegacyContext::default()
        }
    }

    #[test]
    fn rfc3339_round_trips_through_go_layouts() {
        let t = unix_from_rfc3339("2024-11-24T16:00:00Z").unwrap();
        assert_eq!(t, 1_732_464_000);
        assert_eq!(
            go_time_format(t, "2006-01-02T15:04:05Z07:00"),
            "2024-11-24T16:00:00Z"
        );
        assert_eq!(unix_from_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_from_rfc3339("not a time"), None);
    }

    #[test]
    fn expands_packer_functions() {
        assert_eq!(
            expand("my-custom-ami-{{timestamp}}", &ctx()).unwrap(),
            "my-custom-ami-1732464000"
        );
        assert_eq!(
            expand("{{isotime \"2006-01-02 15:04\"}}", &ctx()).unwrap(),
            "2024-11-24 16:00"
        );
        assert_eq!(
            expand("{{ timestamp | clean_resource_name }}", &ctx()).unwrap(),
            "1732464000"
        );
        assert_eq!(
            expand("{{clean_resource_name \"My AMI: v1\"}}", &ctx()).unwrap(),
            "my-ami--v1"
        );
        assert_eq!(
            expand("{{build_name}}-{{build_type}}", &ctx()).unwrap(),
            "web-amazon-ebs"
        );
        assert_eq!(expand("{{ .Name }}", &ctx()).unwrap(), "web");
        assert!(expand("{{ nope }}", &ctx())
            .unwrap_err()
            .contains("unknown function"));
        assert!(expand("{{ timestamp", &ctx()).is_err());
        assert_eq!(
            expand("{{isotime}}", &ctx()).unwrap(),
            "2024-11-24T16:00:00Z"
        );
    }
}
