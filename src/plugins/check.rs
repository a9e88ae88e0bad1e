//! Helpers for plugin validation: reading a body's fields with their spans, aware of values
//! that stay unknown until build time (such a value counts as set, and is never judged).

use crate::body::{AttrValue, BodyValue};
use crate::diagnostic::{suggest, Diagnostic};
use crate::functions::gotime;
use crate::source::Span;
use crate::value::{convert, Type, Value};

/// Reads one body's fields and collects the diagnostics of its checks.
pub(crate) struct Checker<'a> {
    body: &'a BodyValue,
    /// What was found, in the order checked.
    pub diags: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// A checker over `body`.
    pub fn new(body: &'a BodyValue) -> Checker<'a> {
        Checker {
            body,
            diags: Vec::new(),
        }
    }

    fn attr(&self, name: &str) -> Option<&'a AttrValue> {
        self.body.attr(name)
    }

    /// True when the field is given a value that is not empty (an unknown value counts), or
    /// is given as a block.
    pub fn is_set(&self, name: &str) -> bool {
        match self.attr(name) {
            Some(a) => match a.value.unmark().0 {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => !xs.is_empty(),
                Value::Map(m) | Value::Object(m) => !m.is_empty(),
                _ => true,
            },
            None => self.body.blocks_of(name).next().is_some(),
        }
    }

    /// True when the field's value is (or contains) a value known only at build time, or a
    /// string with legacy `{{ }}` interpolation still to run.
    pub fn is_pending(&self, name: &str) -> bool {
        self.attr(name).is_some_and(|a| pending(&a.value))
    }

    /// The field's value as a string, when it is known and needs no further interpolation.
    pub fn string(&self, name: &str) -> Option<String> {
        let a = self.attr(name)?;
        if pending(&a.value) {
            return None;
        }
        match convert(a.value.clone().unmark_deep().0, &Type::String).ok()? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The field's value as a bool, when known.
    pub fn bool(&self, name: &str) -> Option<bool> {
        let a = self.attr(name)?;
        match convert(a.value.clone().unmark_deep().0, &Type::Bool).ok()? {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The field's value as a number, when known.
    pub fn number(&self, name: &str) -> Option<f64> {
        let a = self.attr(name)?;
        match convert(a.value.clone().unmark_deep().0, &Type::Number).ok()? {
            Value::Number(n) => Some(n.to_f64()),
            _ => None,
        }
    }

    /// The field's value as a list of strings, when every element is known.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        let a = self.attr(name)?;
        if pending(&a.value) {
            return None;
        }
        let items = a.value.as_sequence()?;
        items
            .iter()
            .map(
                |v| match convert(v.clone().unmark_deep().0, &Type::String).ok()? {
                    Value::String(s) => Some(s),
                    _ => None,
                },
            )
            .collect()
    }

    /// The keys of a map-valued field, when known.
    pub fn keys(&self, name: &str) -> Option<Vec<String>> {
        let a = self.attr(name)?;
        if a.value.is_unknown() {
            return None;
        }
        Some(a.value.as_map()?.keys().cloned().collect())
    }

    /// Where the field's value is (the attribute's value, or the block's type name), else the
    /// body's header.
    pub fn span(&self, name: &str) -> Span {
        match self.attr(name) {
            Some(a) => a.value_span,
            None => self
                .body
                .blocks_of(name)
                .next()
                .map_or(self.body.span, |b| b.kind_span),
        }
    }

    /// Where the field's name is, else the body's header.
    pub fn name_span(&self, name: &str) -> Span {
        match self.attr(name) {
            Some(a) => a.name_span,
            None => self
                .body
                .blocks_of(name)
                .next()
                .map_or(self.body.span, |b| b.kind_span),
        }
    }

    /// The body's header span.
    pub fn block_span(&self) -> Span {
        self.body.span
    }

    /// Report an error at the field's value.
    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        let span = self.span(name);
        self.diags.push(Diagnostic::error(span, message));
    }

    /// Report a diagnostic as is.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// At most one of `a` and `b` may be set.
    pub fn exclusive(&mut self, a: &str, b: &str, message: &str) {
        if self.is_set(a) && self.is_set(b) {
            let d = Diagnostic::error(self.name_span(b), message)
                .with_label(self.name_span(a), format!("`{a}` is set here"));
            self.diags.push(d);
        }
    }

    /// At least one of `names` must be set (a pending value counts).
    pub fn require_any(&mut self, names: &[&str], message: &str) {
        if !names.iter().any(|n| self.is_set(n)) {
            let fields: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            self.diags.push(
                Diagnostic::error(self.body.span, message)
                    .with_hint(format!("set {}", fields.join(" or "))),
            );
        }
    }

    /// The field, when known and non-empty, must be one of `allowed`.
    pub fn one_of(&mut self, name: &str, allowed: &[&str]) {
        let Some(given) = self.string(name).filter(|s| !s.is_empty()) else {
            return;
        };
        if allowed.contains(&given.as_str()) {
            return;
        }
        let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        let d = Diagnostic::error(
            self.span(name),
            format!(
                "`{name}` must be one of {}, not \"{given}\"",
                list.join(", ")
            ),
        );
        self.diags.push(match suggest(&given, allowed) {
            Some(close) => d.with_hint(format!("did you mean \"{close}\"?")),
            None => d,
        });
    }

    /// The field, when known and non-empty, must be a Go duration such as `5m` or `1h30m`
    /// that is not negative.
    pub fn duration(&mut self, name: &str) {
        self.go_duration(name, false);
    }

    /// The field, when known and non-empty, must be a Go duration; a negative one is allowed
    /// (`ssh_keep_alive_interval = "-1s"` turns keep-alives off).
    pub fn signed_duration(&mut self, name: &str) {
        self.go_duration(name, true);
    }

    fn go_duration(&mut self, name: &str, signed: bool) {
        let Some(given) = self.string(name).filter(|s| !s.is_empty()) else {
            return;
        };
        let parsed = if signed {
            gotime::parse_duration(given.trim()).map(|_| ())
        } else {
            gotime::wait_duration(&given).map(|_| ())
        };
        if let Err(why) = parsed {
            self.diags.push(
                Diagnostic::error(
                    self.span(name),
                    format!("`{name}` must be a duration, not \"{given}\""),
                )
                .with_hint(if why.contains("negative") {
                    "a wait cannot be negative; write a number with a unit, such as \"30s\", \"5m\" or \"1h30m\""
                } else {
                    "write a number with a unit, such as \"30s\", \"5m\" or \"1h30m\""
                }),
            );
        }
    }

    /// Each `environment_vars`-style entry must look like `KEY=value`.
    pub fn key_value_list(&mut self, name: &str) {
        for entry in self.strings(name).unwrap_or_default() {
            let key = entry.split_once('=').map_or("", |(key, _)| key);
            if key.is_empty() {
                self.diags.push(
                    Diagnostic::error(
                        self.span(name),
                        format!("environment variable not in format 'key=value': {entry}"),
                    )
                    .with_hint("write each entry as \"NAME=value\""),
                );
            }
        }
    }

    /// A checker for each block named `kind` in this body, in order.
    pub fn blocks(&self, kind: &str) -> Vec<Checker<'a>> {
        let body: &'a BodyValue = self.body;
        body.blocks
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| Checker::new(&b.body))
            .collect()
    }

    /// Run a check over each nested block named `kind`, keeping what it finds.
    pub fn each_block(&mut self, kind: &str, check: impl Fn(&mut Checker<'a>)) {
        for mut nested in self.blocks(kind) {
            check(&mut nested);
            self.diags.append(&mut nested.diags);
        }
    }

    /// The diagnostics found.
    pub fn finish(self) -> Vec<Diagnostic> {
        self.diags
    }
}

/// True when a value is unknown somewhere or holds a legacy `{{ }}` template still to render.
fn pending(value: &Value) -> bool {
    match value.unmark().0 {
        Value::Unknown(_) => true,
        Value::String(s) => s.contains("{{"),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs.iter().any(pending),
        Value::Map(m) | Value::Object(m) => m.values().any(pending),
        _ => false,
    }
}
