//! HCL's JSON syntax (`*.pkr.json`, `*.pkrvars.json`), read into the same AST as native files.
//!
//! JSON objects are ambiguous between attributes and blocks; Packer's schema decides. The
//! mapping here follows Packer's top-level schema: `variable`, `source`, `data` take their
//! labels as nested object keys, `locals`/`packer`/`build` are blocks, and inside blocks an
//! object whose key names a known nested block (`provisioner`, `post-processor`,
//! `source_ami_filter`, ...) is a block; everything else is an attribute whose strings are
//! templates.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use crate::syntax::{
    self, Attribute, Block, BlockLabel, Body, Expr, ExprKind, Ident, ObjectItem, Structure,
    Template, TemplatePart,
};

/// Top-level block types and how many labels each takes.
const TOP_BLOCKS: &[(&str, usize)] = &[
    ("packer", 0),
    ("variable", 1),
    ("variables", 0),
    ("locals", 0),
    ("local", 1),
    ("data", 2),
    ("source", 2),
    ("build", 0),
    ("hcp_packer_registry", 0),
];

/// Nested block types of Packer's own blocks, with their label counts. Plugin configs add
/// theirs ([`crate::plugins::nested_blocks`], no labels).
const NESTED_BLOCKS: &[(&str, usize)] = &[
    ("required_plugins", 0),
    ("validation", 0),
    ("provisioner", 1),
    ("post-processor", 1),
    ("post-processors", 0),
    ("error-cleanup-provisioner", 1),
    ("source", 1),
    ("hcp_packer_registry", 0),
    ("build_labels", 0),
    ("bucket_labels", 0),
];

/// The labels a nested block named `key` takes, `None` when `key` is no block.
fn nested_block(key: &str) -> Option<usize> {
    NESTED_BLOCKS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, labels)| *labels)
        .or_else(|| crate::plugins::nested_blocks().contains(&key).then_some(0))
}

/// Parse a JSON-syntax file.
pub fn parse(file: FileId, text: &str) -> Result<Body, Vec<Diagnostic>> {
    let mut p = Parser { file, text, pos: 0 };
    p.ws();
    let value = p.value(0).map_err(|d| vec![d])?;
    p.ws();
    if p.pos < text.len() {
        return Err(vec![Diagnostic::error(
            p.span(p.pos, p.pos + 1),
            "unexpected text after the JSON document",
        )]);
    }
    let Json::Object(items, span) = value else {
        return Err(vec![Diagnostic::error(
            value.span(),
            "a JSON template must be an object",
        )]);
    };
    let mut body = Body {
        items: Vec::new(),
        span,
    };
    for (key, key_span, v) in items {
        match TOP_BLOCKS.iter().find(|(k, _)| *k == key) {
            Some((_, labels)) => blocks_with(&mut body, &key, key_span, v, *labels, Vec::new())?,
            None => body
                .items
                .push(Structure::Attribute(attribute(file, key, key_span, v)?)),
        }
    }
    Ok(body)
}

fn blocks_with(
    out: &mut Body,
    kind: &str,
    kind_span: Span,
    v: Json,
    labels_left: usize,
    labels: Vec<BlockLabel>,
) -> Result<(), Vec<Diagnostic>> {
    match v {
        Json::Array(items, _) => {
            for item in items {
                blocks_with(out, kind, kind_span, item, labels_left, labels.clone())?;
            }
            Ok(())
        }
        Json::Object(items, span) if labels_left > 0 => {
            for (label, label_span, inner) in items {
                let mut l = labels.clone();
                l.push(BlockLabel {
                    value: label,
                    quoted: true,
                    span: label_span,
                });
                blocks_with(out, kind, kind_span, inner, labels_left - 1, l)?;
            }
            let _ = span;
            Ok(())
        }
        Json::Object(items, span) => {
            let mut body = Body {
                items: Vec::new(),
                span,
            };
            for (key, key_span, inner) in items {
                let nested = nested_block(&key);
                let is_block =
                    nested.is_some() && matches!(inner, Json::Object(..) | Json::Array(..));
                if is_block {
                    blocks_with(
                        &mut body,
                        &key,
                        key_span,
                        inner,
                        nested.unwrap_or(0),
                        Vec::new(),
                    )?;
                } else {
                    let file = key_span.file;
                    body.items
                        .push(Structure::Attribute(attribute(file, key, key_span, inner)?));
                }
            }
            out.items.push(Structure::Block(Block {
                ident: Ident {
                    name: kind.to_string(),
                    span: kind_span,
                },
                labels,
                body,
                open_brace: span.start_point(),
                close_brace: span.end_point(),
                span: kind_span.to(span),
            }));
            Ok(())
        }
        other => Err(vec![Diagnostic::error(
            other.span(),
            format!("`{kind}` must be a JSON object"),
        )]),
    }
}

fn attribute(
    file: FileId,
    name: String,
    name_span: Span,
    v: Json,
) -> Result<Attribute, Vec<Diagnostic>> {
    let expr = expr(file, v)?;
    Ok(Attribute {
        span: name_span.to(expr.span),
        name: Ident {
            name,
            span: name_span,
        },
        expr,
    })
}

fn expr(file: FileId, v: Json) -> Result<Expr, Vec<Diagnostic>> {
    Ok(match v {
        Json::Null(span) => Expr {
            kind: ExprKind::Null,
            span,
        },
        Json::Bool(b, span) => Expr {
            kind: ExprKind::Bool(b),
            span,
        },
        Json::Number(n, span) => Expr {
            kind: ExprKind::Number(n),
            span,
        },
        Json::String(s, span) => {
            // JSON strings are templates: `${...}` works inside them.
            let template = if s.contains("${") || s.contains("%{") {
                let inner = Span::new(file, span.start as usize + 1, span.end as usize - 1);
                syntax::parse_template(file, &s).map_err(|mut d| {
                    for diag in &mut d {
                        diag.span = Some(inner);
                    }
                    d
                })?
            } else {
                Template {
                    parts: vec![TemplatePart::Literal(s, span)],
                    heredoc: false,
                }
            };
            Expr {
                kind: ExprKind::Template(template),
                span,
            }
        }
        Json::Array(items, span) => Expr {
            kind: ExprKind::Tuple(
                items
                    .into_iter()
                    .map(|i| expr(file, i))
                    .collect::<Result<_, _>>()?,
            ),
            span,
        },
        Json::Object(items, span) => Expr {
            kind: ExprKind::Object(
                items
                    .into_iter()
                    .map(|(k, ks, v)| {
                        Ok(ObjectItem {
                            key: Expr {
                                kind: ExprKind::Template(Template {
                                    parts: vec![TemplatePart::Literal(k, ks)],
                                    heredoc: false,
                                }),
                                span: ks,
                            },
                            value: expr(file, v)?,
                        })
                    })
                    .collect::<Result<_, Vec<Diagnostic>>>()?,
            ),
            span,
        },
    })
}

/// A JSON value with spans.
enum Json {
    Null(Span),
    Bool(bool, Span),
    Number(String, Span),
    String(String, Span),
    Array(Vec<Json>, Span),
    Object(Vec<(String, Span, Json)>, Span),
}

impl Json {
    fn span(&self) -> Span {
        match self {
            Json::Null(s)
            | Json::Bool(_, s)
            | Json::Number(_, s)
            | Json::String(_, s)
            | Json::Array(_, s)
            | Json::Object(_, s) => *s,
        }
    }
}

struct Parser<'a> {
    file: FileId,
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn span(&self, a: usize, b: usize) -> Span {
        Span::new(self.file, a, b.min(self.text.len()))
    }

    fn ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn err(&self, msg: &str) -> Diagnostic {
        Diagnostic::error(self.span(self.pos, self.pos + 1), msg.to_string())
    }

    fn value(&mut self, depth: usize) -> Result<Json, Diagnostic> {
        if depth > 200 {
            return Err(self.err("JSON nested too deeply"));
        }
        let start = self.pos;
        let rest = &self.text[self.pos..];
        let lit = |p: &mut Self, word: &str| -> Result<(), Diagnostic> {
            if p.text[p.pos..].starts_with(word) {
                p.pos += word.len();
                Ok(())
            } else {
                Err(p.err("invalid JSON value"))
            }
        };
        match rest.as_bytes().first() {
            None => Err(self.err("unexpected end of JSON")),
            Some(b'n') => lit(self, "null").map(|_| Json::Null(self.span(start, self.pos))),
            Some(b't') => lit(self, "true").map(|_| Json::Bool(true, self.span(start, self.pos))),
            Some(b'f') => lit(self, "false").map(|_| Json::Bool(false, self.span(start, self.pos))),
            Some(b'"') => {
                let s = self.string()?;
                Ok(Json::String(s, self.span(start, self.pos)))
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.text[self.pos..].starts_with(']') {
                    self.pos += 1;
                    return Ok(Json::Array(items, self.span(start, self.pos)));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.text.as_bytes().get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items, self.span(start, self.pos)));
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.text[self.pos..].starts_with('}') {
                    self.pos += 1;
                    return Ok(Json::Object(items, self.span(start, self.pos)));
                }
                loop {
                    self.ws();
                    let ks = self.pos;
                    if !self.text[self.pos..].starts_with('"') {
                        return Err(self.err("expected a quoted key"));
                    }
                    let key = self.string()?;
                    let key_span = self.span(ks, self.pos);
                    self.ws();
                    if !self.text[self.pos..].starts_with(':') {
                        return Err(self.err("expected `:` after the key"));
                    }
                    self.pos += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    items.push((key, key_span, v));
                    self.ws();
                    match self.text.as_bytes().get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(items, self.span(start, self.pos)));
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let len = rest
                    .find(|ch: char| !(ch.is_ascii_digit() || "+-.eE".contains(ch)))
                    .unwrap_or(rest.len());
                self.pos += len;
                Ok(Json::Number(
                    rest[..len].to_string(),
                    self.span(start, self.pos),
                ))
            }
            Some(_) => Err(self.err("invalid JSON value")),
        }
    }

    fn string(&mut self) -> Result<String, Diagnostic> {
        let start = self.pos;
        // Reuse the value module's decoder on the quoted slice.
        let rest = &self.text[self.pos..];
        let mut i = 1;
        let bytes = rest.as_bytes();
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        if i >= bytes.len() {
            return Err(Diagnostic::error(
                self.span(start, self.text.len()),
                "unterminated JSON string",
            ));
        }
        let quoted = &rest[..=i];
        self.pos += i + 1;
        match crate::value::from_json(quoted) {
            Ok(crate::value::Value::String(s)) => Ok(s),
            _ => Err(Diagnostic::error(
                self.span(start, self.pos),
                "invalid JSON string",
            )),
        }
    }
}
