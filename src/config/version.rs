//! Version constraints as HashiCorp writes them: `>= 1.7.0`, `~> 1.8`, `!= 1.9.1`, comma-separated.

/// Whether `version` satisfies every comma-separated constraint.
pub fn satisfies(version: &str, constraints: &str) -> Result<bool, String> {
    let v = parse(version).ok_or_else(|| format!("`{version}` is not a version"))?;
    for part in constraints.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|r| (*op, r.trim())))
            .unwrap_or(("=", part));
        let c = parse(rest).ok_or_else(|| format!("`{rest}` is not a version"))?;
        let precision = rest.trim_start_matches('v').split('.').count();
        let ok = match op {
            "=" => v == c,
            "!=" => v != c,
            ">" => v > c,
            ">=" => v >= c,
            "<" => v < c,
            "<=" => v <= c,
            _ => {
                // `~> 1.8` allows 1.x from 1.8; `~> 1.8.1` allows 1.8.x from 1.8.1.
                let upper = if precision <= 2 {
                    [c[0] + 1, 0, 0]
                } else {
                    [c[0], c[1] + 1, 0]
                };
                v >= c && v < upper
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn parse(text: &str) -> Option<[u64; 3]> {
    let core = text.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut out = [0u64; 3];
    let mut parts = core.split('.');
    for slot in out.iter_mut() {
        match parts.next() {
            Some(p) => *slot = p.parse().ok()?,
            None => break,
        }
    }
    if parts.next().is_some() || core.is_empty() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn constraints() {
        assert_eq!(satisfies("1.11.2", ">= 1.7.0"), Ok(true));
        assert_eq!(satisfies("1.11.2", "~> 1.8"), Ok(true));
        assert_eq!(satisfies("1.11.2", "~> 1.8.1"), Ok(false));
        assert_eq!(satisfies("1.11.2", ">= 1.0, < 1.10"), Ok(false));
        assert_eq!(satisfies("1.11.2", "!= 1.11.2"), Ok(false));
        assert!(satisfies("1.11.2", ">= banana").is_err());
    }
}
