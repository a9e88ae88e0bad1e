//! Strict checking of JSON response bodies against a Swagger 2.0 document.
//!
//! This module is test support. It loads one of HashiCorp's published HCP API
//! specifications (for example `packer-2023-01-01.swagger.json` or
//! `resource-manager-2019-12-10.swagger.json`) and checks that a JSON body a
//! server returned is a valid response of a named operation.
//!
//! Operations are named by their `operationId`, spelled `<Service>_<Method>`,
//! for example `PackerService_GetBucket`, `PackerService_UpdateBuild`,
//! `ProjectService_Get` or `OrganizationService_List`. Every operation in both
//! documents declares a `"200"` response and a `"default"` response; the
//! `"default"` (error) response is the `google.rpc.Status` definition, shaped
//! `{"code": <int32>, "message": <string>, "details": [<google.protobuf.Any>]}`.
//!
//! # Why stricter than JSON Schema
//!
//! These documents are generated from protobuf definitions. They never mark a
//! field as required and never forbid extra fields, so plain JSON Schema
//! validation would accept almost anything. The checker here is stricter:
//!
//! * Every member of an object body must be declared in the schema's
//!   `properties`, or be allowed by its `additionalProperties` (maps such as
//!   `labels` declare `additionalProperties: {type: string}`). Anything else
//!   is reported as an undeclared property, with its path.
//! * `null` is a violation wherever the schema does not say
//!   `x-nullable: true`. The empty schema `{}` (used for the extra members of
//!   `google.protobuf.Any`) accepts any value, `null` included.
//! * `type: string` with `format: int64` or `uint64` must be a string of
//!   decimal digits (with an optional leading `-` for `int64`) that fits the
//!   range. This is how protobuf JSON encodes 64-bit integers, and a server
//!   that sends a JSON number there is wrong.
//! * `format: date-time` must be an RFC 3339 timestamp such as
//!   `2024-01-30T12:34:56.789Z` or `2024-01-30T12:34:56+02:00`: upper-case `T`
//!   and `Z`, a real calendar date, seconds 00 to 59 (no leap second, as Go's
//!   `time.Parse` refuses it), at most nine fraction digits, and a year from
//!   0001 to 9999 (the range of a protobuf `Timestamp`).
//! * `format: byte` must be base64 (standard or URL-safe alphabet).
//! * `type: integer` must be a JSON integer (no fraction or exponent) within
//!   the range of its `format` (`int32`, `uint32`, `int64`, `uint64`).
//! * `enum` values are enforced.
//! * A `required` list, if a schema ever has one, is enforced too.
//!
//! Two kinds of object schema without `properties` are told apart. A named
//! definition such as `DeleteBucketResponse` (`{type: object}` reached through
//! a `$ref`) is an empty protobuf message, so it accepts only `{}`. An inline
//! `{type: object}` property, such as the `packer`, `vcs` and `cicd` members
//! of `BuildMetadata`, stands for a free-form `google.protobuf.Struct` and
//! accepts any object.
//!
//! `$ref` (only local `#/definitions/...` references) is followed wherever it
//! appears, and any keywords beside a `$ref` are ignored, as Swagger 2.0
//! says, except `x-nullable`. `allOf` is handled by merging its parts.
//! Checking descends only as deep as the body goes, so recursive definitions
//! cannot loop; a chain of `$ref`/`allOf` that never reaches a real schema is
//! cut off and reported.
//!
//! Purely descriptive keywords (`description`, `title`, `default`,
//! `readOnly`, `example`, `x-*` other than `x-nullable`) are ignored.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// How many `$ref`/`allOf` steps may be taken without descending into the body
/// before the schema is declared cyclic.
const MAX_SCHEMA_HOPS: usize = 64;

/// The HTTP methods a Swagger 2.0 path item may hold, in lower case.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// A parsed Swagger 2.0 document.
pub struct Spec {
    /// The whole document as JSON.
    doc: Value,
    /// Where the document was loaded from, for messages.
    source: PathBuf,
}

/// A schema after following `$ref`s and merging `allOf`.
struct Effective {
    /// The keywords of the schema.
    schema: Map<String, Value>,
    /// The name of the last definition reached through `$ref`, if any.
    name: Option<String>,
    /// Whether `null` is allowed (`x-nullable: true` somewhere on the way).
    nullable: bool,
}

/// One segment of a path template, ready for matching a concrete path.
enum Segment {
    /// A fixed segment that must match exactly.
    Literal(String),
    /// A path parameter filling one whole, non-empty segment.
    Parameter,
    /// A segment with a parameter between a fixed prefix and suffix, such as
    /// `{name}:cancel`.
    Mixed(String, String),
}

// The methods are used selectively by each integration-test binary that
// includes this module, so unused ones must not warn.
#[allow(dead_code)]
impl Spec {
    /// Load a Swagger 2.0 JSON document.
    ///
    /// Panics, naming the file, if it cannot be read, is not JSON, or is not a
    /// Swagger 2.0 document with `paths`.
    pub fn load(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read Swagger document {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("Swagger document {} is not valid JSON: {e}", path.display())
        });
        if doc.get("swagger").and_then(Value::as_str) != Some("2.0") {
            panic!(
                "{} is not a Swagger 2.0 document (its \"swagger\" member is {})",
                path.display(),
                doc.get("swagger")
                    .map_or("missing".to_string(), Value::to_string)
            );
        }
        if !doc.get("paths").is_some_and(Value::is_object) {
            panic!(
                "Swagger document {} has no \"paths\" object",
                path.display()
            );
        }
        Spec {
            doc,
            source: path.to_path_buf(),
        }
    }

    /// The schema of the response with this status (`"200"` or `"default"`)
    /// of the operation with this operationId (e.g. `"PackerService_GetBucket"`).
    ///
    /// The schema is returned as written, usually a `{"$ref": ...}`. Panics if
    /// there is no such operation, no such response, or the response declares
    /// no schema.
    pub fn response_schema(&self, operation_id: &str, status: &str) -> Value {
        let Some((method, template, operation)) = self.find_operation(operation_id) else {
            let mut known: Vec<&str> = self.operations().map(|(_, _, _, op)| op).collect();
            known.sort_unstable();
            panic!(
                "no operation with operationId {operation_id:?} in {}; it has: {}",
                self.source.display(),
                known.join(", ")
            );
        };
        let responses = operation.get("responses").and_then(Value::as_object);
        let Some(response) = responses.and_then(|r| r.get(status)) else {
            let declared: Vec<&str> = responses
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default();
            panic!(
                "operation {operation_id} ({} {template}) in {} has no {status:?} response; \
                 it declares: {}",
                method.to_ascii_uppercase(),
                self.source.display(),
                declared.join(", ")
            );
        };
        let response = self
            .resolve_local(response, "#/responses/")
            .unwrap_or(response);
        response.get("schema").cloned().unwrap_or_else(|| {
            panic!(
                "the {status:?} response of {operation_id} in {} declares no schema",
                self.source.display()
            )
        })
    }

    /// Every violation of `body` against `schema` (resolving `$ref` within
    /// this document), as `"path: what"` strings; empty when it conforms.
    ///
    /// Paths are written like `$.bucket.latest_version.builds[0].status`.
    pub fn violations(&self, schema: &Value, body: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(schema, body, "$", &mut out);
        out
    }

    /// Assert that `body` is a valid `status` (`"200"` or `"default"`)
    /// response of `operation_id`; panic listing every violation and the body.
    pub fn check(&self, operation_id: &str, status: &str, body: &Value) {
        let schema = self.response_schema(operation_id, status);
        let found = self.violations(&schema, body);
        if !found.is_empty() {
            let pretty = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
            panic!(
                "body is not a valid {status:?} response of {operation_id} ({}), \
                 {} violation(s):\n  - {}\nbody:\n{pretty}",
                self.source.display(),
                found.len(),
                found.join("\n  - ")
            );
        }
    }

    /// The operationId for an HTTP method and a concrete path, such as
    /// `("GET", "/packer/2023-01-01/organizations/o/projects/p/buckets/b")`,
    /// matched against this document's path templates; `None` if no path
    /// matches.
    ///
    /// The method is case-insensitive and any query string is ignored. A path
    /// parameter fills one non-empty segment, unless the operation gives it a
    /// `pattern` such as `constraints/[^/]+`, which then spans several
    /// segments. When several templates match, the one with the most fixed
    /// segments wins, so `.../runtasks/config` beats `.../runtasks/{task_type}`.
    pub fn operation_for(&self, method: &str, path: &str) -> Option<String> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let concrete: Vec<&str> = path.split('/').collect();
        let method = method.to_ascii_lowercase();
        let mut best: Option<(usize, &str)> = None;
        for (m, template, operation, operation_id) in self.operations() {
            if m != method {
                continue;
            }
            let path_item = &self.doc["paths"][template];
            let segments = self.template_segments(template, path_item, operation);
            let Some(score) = match_segments(&segments, &concrete) else {
                continue;
            };
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, operation_id));
            }
        }
        best.map(|(_, id)| id.to_string())
    }

    /// Every operation as (lower-case method, path template, operation,
    /// operationId); operations without an operationId are skipped.
    fn operations(&self) -> impl Iterator<Item = (&str, &str, &Value, &str)> {
        self.doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.iter())
            .flat_map(|(template, item)| {
                METHODS.iter().filter_map(move |m| {
                    let operation = item.get(*m)?;
                    let id = operation.get("operationId")?.as_str()?;
                    Some((*m, template.as_str(), operation, id))
                })
            })
    }

    /// The (method, template, operation) with this operationId.
    fn find_operation(&self, operation_id: &str) -> Option<(&str, &str, &Value)> {
        self.operations()
            .find(|(_, _, _, id)| *id == operation_id)
            .map(|(m, t, op, _)| (m, t, op))
    }

    /// If `value` is `{"$ref": "<prefix><name>"}`, the named entry of this
    /// document (e.g. `#/responses/` or `#/parameters/`).
    fn resolve_local<'a>(&'a self, value: &'a Value, prefix: &str) -> Option<&'a Value> {
        let reference = value.get("$ref")?.as_str()?;
        let name = unescape_pointer(reference.strip_prefix(prefix)?);
        let section = prefix.trim_start_matches("#/").trim_end_matches('/');
        self.doc.get(section)?.get(name.as_str())
    }

    /// The matchers for a path template, expanding parameters that carry a
    /// multi-segment `pattern`.
    fn template_segments(
        &self,
        template: &str,
        path_item: &Value,
        operation: &Value,
    ) -> Vec<Segment> {
        let parameters: Vec<&Value> = [operation, path_item]
            .iter()
            .filter_map(|v| v.get("parameters").and_then(Value::as_array))
            .flatten()
            .map(|p| self.resolve_local(p, "#/parameters/").unwrap_or(p))
            .collect();
        let mut segments = Vec::new();
        for piece in template.split('/') {
            let (Some(open), Some(close)) = (piece.find('{'), piece.rfind('}')) else {
                segments.push(Segment::Literal(piece.to_string()));
                continue;
            };
            if close < open {
                segments.push(Segment::Literal(piece.to_string()));
                continue;
            }
            let (prefix, suffix) = (&piece[..open], &piece[close + 1..]);
            if !prefix.is_empty() || !suffix.is_empty() {
                segments.push(Segment::Mixed(prefix.to_string(), suffix.to_string()));
                continue;
            }
            let name = &piece[open + 1..close];
            let pattern = parameters
                .iter()
                .find(|p| {
                    p.get("in").and_then(Value::as_str) == Some("path")
                        && p.get("name").and_then(Value::as_str) == Some(name)
                })
                .and_then(|p| p.get("pattern"))
                .and_then(Value::as_str);
            match pattern {
                Some(pattern) => segments.extend(split_pattern(pattern).into_iter().map(|part| {
                    if part.chars().any(|c| "[]*+?.()\\^$|{}".contains(c)) {
                        Segment::Parameter
                    } else {
                        Segment::Literal(part.to_string())
                    }
                })),
                None => segments.push(Segment::Parameter),
            }
        }
        segments
    }

    /// The definition a `#/definitions/...` reference names.
    fn definition(&self, reference: &str) -> Result<(&Value, String), String> {
        let name = reference
            .strip_prefix("#/definitions/")
            .map(unescape_pointer)
            .ok_or_else(|| format!("unsupported $ref {reference:?} (only #/definitions/... is)"))?;
        self.doc
            .get("definitions")
            .and_then(|d| d.get(name.as_str()))
            .map(|d| (d, name.clone()))
            .ok_or_else(|| format!("$ref {reference:?} names no definition in the document"))
    }

    /// Follow `$ref`s and merge `allOf` until a plain schema remains.
    fn effective(&self, schema: &Value, hops: usize) -> Result<Effective, String> {
        if hops > MAX_SCHEMA_HOPS {
            return Err("schema $ref/allOf chain never ends (cyclic definition?)".to_string());
        }
        let keywords = match schema {
            Value::Object(keywords) => keywords,
            Value::Bool(true) => {
                return Ok(Effective {
                    schema: Map::new(),
                    name: None,
                    nullable: true,
                })
            }
            other => return Err(format!("malformed schema {}", abbreviate(other))),
        };
        let nullable_here = keywords.get("x-nullable") == Some(&Value::Bool(true));
        if let Some(reference) = keywords.get("$ref") {
            let reference = reference
                .as_str()
                .ok_or_else(|| format!("malformed $ref {reference}"))?;
            let (target, name) = self.definition(reference)?;
            let mut resolved = self.effective(target, hops + 1)?;
            resolved.name = Some(name);
            resolved.nullable |= nullable_here;
            return Ok(resolved);
        }
        let Some(parts) = keywords.get("allOf") else {
            return Ok(Effective {
                schema: keywords.clone(),
                name: None,
                nullable: nullable_here,
            });
        };
        let parts = parts
            .as_array()
            .ok_or_else(|| "malformed allOf (not an array)".to_string())?;
        let mut merged = keywords.clone();
        merged.remove("allOf");
        let mut name = None;
        let mut nullable = nullable_here;
        for part in parts {
            let part = self.effective(part, hops + 1)?;
            merge_schema(&mut merged, part.schema);
            name = name.or(part.name);
            nullable |= part.nullable;
        }
        Ok(Effective {
            schema: merged,
            name,
            nullable,
        })
    }

    /// Check `body` at path `at` against `schema`, appending violations.
    fn walk(&self, schema: &Value, body: &Value, at: &str, out: &mut Vec<String>) {
        let effective = match self.effective(schema, 0) {
            Ok(effective) => effective,
            Err(e) => {
                out.push(format!("{at}: cannot check, {e}"));
                return;
            }
        };
        let keywords = &effective.schema;
        let declared_type = match keywords.get("type") {
            None => None,
            Some(Value::String(t)) => Some(t.as_str()),
            Some(other) => {
                out.push(format!(
                    "{at}: cannot check, unsupported schema type {other}"
                ));
                return;
            }
        };
        let inferred_type = declared_type.or_else(|| {
            if keywords.contains_key("properties") || keywords.contains_key("additionalProperties")
            {
                Some("object")
            } else if keywords.contains_key("items") {
                Some("array")
            } else {
                None
            }
        });
        if body.is_null() {
            let unconstrained = inferred_type.is_none() && !keywords.contains_key("enum");
            if !effective.nullable && !unconstrained {
                out.push(format!(
                    "{at}: null is not allowed here (expected {}; the schema is not x-nullable)",
                    describe(&effective, inferred_type)
                ));
            }
            return;
        }
        let type_ok = match inferred_type {
            None => true,
            Some("object") => self.walk_object(&effective, body, at, out),
            Some("array") => self.walk_array(keywords, body, at, out),
            Some("string") => check_string(keywords, body, at, out),
            Some("integer") => check_integer(keywords, body, at, out),
            Some("number") => expect(body.is_number(), "number", body, at, out),
            Some("boolean") => expect(body.is_boolean(), "boolean", body, at, out),
            Some(other) => {
                out.push(format!(
                    "{at}: cannot check, unsupported schema type {other:?}"
                ));
                false
            }
        };
        if let (true, Some(allowed)) = (type_ok, keywords.get("enum").and_then(Value::as_array)) {
            if !allowed.contains(body) {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                out.push(format!(
                    "{at}: {} is not a value of {} (allowed: {})",
                    abbreviate(body),
                    effective.name.as_deref().unwrap_or("the enum"),
                    list.join(", ")
                ));
            }
        }
    }

    /// Check an object body: its members, `required`, and undeclared members.
    fn walk_object(
        &self,
        effective: &Effective,
        body: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) -> bool {
        let Some(members) = body.as_object() else {
            out.push(format!(
                "{at}: expected {}, got {}",
                describe(effective, Some("object")),
                abbreviate(body)
            ));
            return false;
        };
        let keywords = &effective.schema;
        let properties = keywords.get("properties").and_then(Value::as_object);
        let additional = keywords.get("additionalProperties");
        // An inline `{type: object}` is a free-form protobuf Struct; a named
        // definition without properties is an empty message.
        let free_form = properties.is_none() && additional.is_none() && effective.name.is_none();
        if let Some(required) = keywords.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !members.contains_key(name) {
                    out.push(format!(
                        "{}: required property is missing",
                        member_path(at, name)
                    ));
                }
            }
        }
        for (name, value) in members {
            let here = member_path(at, name);
            if let Some(property) = properties.and_then(|p| p.get(name)) {
                self.walk(property, value, &here, out);
                continue;
            }
            match additional {
                Some(Value::Bool(true)) => {}
                Some(extra @ Value::Object(_)) => self.walk(extra, value, &here, out),
                None if free_form => {}
                _ => {
                    let declared: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    out.push(format!(
                        "{here}: property {name:?} is not declared by {} (declared: {})",
                        effective.name.as_deref().unwrap_or("the schema"),
                        if declared.is_empty() {
                            "none".to_string()
                        } else {
                            declared.join(", ")
                        }
                    ));
                }
            }
        }
        true
    }

    /// Check an array body and each of its items.
    fn walk_array(
        &self,
        keywords: &Map<String, Value>,
        body: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) -> bool {
        let Some(items) = body.as_array() else {
            out.push(format!("{at}: expected array, got {}", abbreviate(body)));
            return false;
        };
        if let Some(item_schema) = keywords.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.walk(item_schema, item, &format!("{at}[{i}]"), out);
            }
        }
        true
    }
}

/// Merge the keywords of an `allOf` part into `merged`: properties and
/// `required` are united, any other keyword is kept from its first occurrence.
fn merge_schema(merged: &mut Map<String, Value>, part: Map<String, Value>) {
    for (key, value) in part {
        match (key.as_str(), merged.get_mut(&key), value) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (name, property) in theirs {
                    mine.entry(name).or_insert(property);
                }
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.contains(&name) {
                        mine.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                merged.insert(key, value);
            }
        }
    }
}

/// Match a concrete path, split on `/`, against template segments; the score
/// is higher the more fixed text matched.
fn match_segments(template: &[Segment], concrete: &[&str]) -> Option<usize> {
    if template.len() != concrete.len() {
        return None;
    }
    let mut score = 0;
    for (segment, actual) in template.iter().zip(concrete) {
        match segment {
            Segment::Literal(fixed) if fixed == actual => score += 2,
            Segment::Parameter if !actual.is_empty() => {}
            Segment::Mixed(prefix, suffix)
                if actual.len() > prefix.len() + suffix.len()
                    && actual.starts_with(prefix.as_str())
                    && actual.ends_with(suffix.as_str()) =>
            {
                score += 1
            }
            _ => return None,
        }
    }
    Some(score)
}

/// Split a path parameter's regular expression on the `/`s that separate
/// path segments, leaving those inside `[...]` classes (as in `[^/]+`) alone.
fn split_pattern(pattern: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut in_class, mut escaped) = (0, false, false);
    for (i, c) in pattern.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '/' if !in_class => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&pattern[start..]);
    parts
}

/// Decode the `~1` and `~0` escapes of a JSON Pointer token.
fn unescape_pointer(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The path of member `name` below `at`: `.name`, or `["name"]` when the name
/// is not a plain identifier (e.g. `["@type"]`).
fn member_path(at: &str, name: &str) -> String {
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{at}.{name}")
    } else {
        format!("{at}[{}]", Value::String(name.to_string()))
    }
}

/// A short rendering of a JSON value for messages, with its kind.
fn abbreviate(value: &Value) -> String {
    const LIMIT: usize = 60;
    let kind = match value {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let text = value.to_string();
    if text.chars().count() > LIMIT {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{kind} {cut}...")
    } else {
        format!("{kind} {text}")
    }
}

/// What a schema expects, for messages: its type and format, and its
/// definition name when it has one.
fn describe(effective: &Effective, inferred_type: Option<&str>) -> String {
    let mut text = inferred_type.unwrap_or("any value").to_string();
    if let Some(format) = effective.schema.get("format").and_then(Value::as_str) {
        text = format!("{text} ({format})");
    }
    if let Some(name) = &effective.name {
        text = format!("{text} {name}");
    }
    text
}

/// Record a type mismatch unless `ok`; return `ok`.
fn expect(ok: bool, wanted: &str, body: &Value, at: &str, out: &mut Vec<String>) -> bool {
    if !ok {
        out.push(format!("{at}: expected {wanted}, got {}", abbreviate(body)));
    }
    ok
}

/// Check a `type: string` value and its `format`.
fn check_string(
    keywords: &Map<String, Value>,
    body: &Value,
    at: &str,
    out: &mut Vec<String>,
) -> bool {
    let format = keywords.get("format").and_then(Value::as_str);
    let Some(text) = body.as_str() else {
        let hint = match format {
            Some(f @ ("int64" | "uint64")) => format!(
                "a string holding a decimal {f} (protobuf JSON writes 64-bit integers as strings)"
            ),
            Some(f) => format!("string ({f})"),
            None => "string".to_string(),
        };
        out.push(format!("{at}: expected {hint}, got {}", abbreviate(body)));
        return false;
    };
    let problem = match format {
        Some("int64") => check_decimal(text, true, i64::MIN.into(), i64::MAX.into()),
        Some("uint64") => check_decimal(text, false, 0, u64::MAX.into()),
        Some("int32") => check_decimal(text, true, i32::MIN.into(), i32::MAX.into()),
        Some("uint32") => check_decimal(text, false, 0, u32::MAX.into()),
        Some("date-time") => check_rfc3339(text).err(),
        Some("byte") => check_base64(text).err(),
        _ => None,
    };
    if let Some(problem) = problem {
        out.push(format!(
            "{at}: {} is not a valid {} string: {problem}",
            abbreviate(body),
            format.unwrap_or_default()
        ));
    }
    true
}

/// Why `text` is not a decimal integer within `min..=max`, if it is not.
fn check_decimal(text: &str, signed: bool, min: i128, max: i128) -> Option<String> {
    let digits = if signed {
        text.strip_prefix('-').unwrap_or(text)
    } else {
        text
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(if signed {
            "expected decimal digits with an optional leading '-'".to_string()
        } else {
            "expected decimal digits only".to_string()
        });
    }
    match text.parse::<i128>() {
        Ok(n) if (min..=max).contains(&n) => None,
        _ => Some(format!("out of range {min}..={max}")),
    }
}

/// Check a `type: integer` value against the range of its `format`.
fn check_integer(
    keywords: &Map<String, Value>,
    body: &Value,
    at: &str,
    out: &mut Vec<String>,
) -> bool {
    let value: Option<i128> = match body {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    };
    let format = keywords.get("format").and_then(Value::as_str);
    let Some(value) = value else {
        let wanted = format.map_or("integer".to_string(), |f| format!("JSON integer ({f})"));
        out.push(format!("{at}: expected {wanted}, got {}", abbreviate(body)));
        return false;
    };
    let range: Option<(i128, i128)> = match format {
        Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
        Some("uint32") => Some((0, u32::MAX.into())),
        Some("int64") => Some((i64::MIN.into(), i64::MAX.into())),
        Some("uint64") => Some((0, u64::MAX.into())),
        _ => None,
    };
    if let Some((min, max)) = range {
        if !(min..=max).contains(&value) {
            out.push(format!(
                "{at}: {value} is out of the {} range {min}..={max}",
                format.unwrap_or_default()
            ));
        }
    }
    true
}

/// Check an RFC 3339 date-time such as `2024-01-30T12:34:56.789Z` or
/// `2024-01-30T12:34:56+02:00`; the error says what is wrong.
fn check_rfc3339(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let number = |from: usize, len: usize, what: &str| -> Result<u32, String> {
        let part = b
            .get(from..from + len)
            .filter(|p| p.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| format!("expected {len} digits of {what} at offset {from}"))?;
        Ok(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let separator = |at: usize, want: u8| -> Result<(), String> {
        match b.get(at) {
            Some(&c) if c == want => Ok(()),
            _ => Err(format!("expected '{}' at offset {at}", want as char)),
        }
    };
    let year = number(0, 4, "year")?;
    separator(4, b'-')?;
    let month = number(5, 2, "month")?;
    separator(7, b'-')?;
    let day = number(8, 2, "day")?;
    separator(10, b'T')?;
    let hour = number(11, 2, "hour")?;
    separator(13, b':')?;
    let minute = number(14, 2, "minute")?;
    separator(16, b':')?;
    let second = number(17, 2, "second")?;
    if year == 0 {
        return Err("year 0000 is outside the range of a timestamp".to_string());
    }
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} does not exist"));
    }
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > month_days {
        return Err(format!(
            "day {day:02} does not exist in {year:04}-{month:02}"
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "time {hour:02}:{minute:02}:{second:02} is out of range"
        ));
    }
    let mut at = 19;
    if b.get(at) == Some(&b'.') {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=9).contains(&digits) {
            return Err("a fraction of a second needs 1 to 9 digits".to_string());
        }
        at += 1 + digits;
    }
    match b.get(at) {
        Some(b'Z') if at + 1 == b.len() => Ok(()),
        Some(b'+' | b'-') if at + 6 == b.len() => {
            let offset_hour = number(at + 1, 2, "offset hour")?;
            separator(at + 3, b':')?;
            let offset_minute = number(at + 4, 2, "offset minute")?;
            if offset_hour > 23 || offset_minute > 59 {
                return Err("time zone offset is out of range".to_string());
            }
            Ok(())
        }
        _ => Err(format!(
            "expected 'Z' or a '+HH:MM'/'-HH:MM' offset to end the string at offset {at}"
        )),
    }
}

/// Check base64 text (standard or URL-safe alphabet, padded or not).
fn check_base64(text: &str) -> Result<(), String> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    if let Some(bad) = body.bytes().find(|&c| !alphabet(c)) {
        return Err(format!("character {:?} is not base64", bad as char));
    }
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) || body.len() % 4 == 1 {
        return Err("length or padding is wrong".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// HashiCorp's published specifications, in `../shared/hcp-api`.
    fn spec(file: &str) -> Spec {
        Spec::load(&crate::test::shared_dir().join("hcp-api").join(file))
    }

    fn packer() -> Spec {
        spec("packer-2023-01-01.swagger.json")
    }

    fn resource_manager() -> Spec {
        spec("resource-manager-2019-12-10.swagger.json")
    }

    /// A GetBucket body using most of what a Bucket can hold.
    fn bucket_body() -> Value {
        // Built in pieces: one big `json!` exceeds the default macro
        // recursion limit.
        let build = json!({
            "id": "01HN0000000000000000000002",
            "version_id": "01HN0000000000000000000001",
            "component_type": "amazon-ebs.ubuntu",
            "packer_run_uuid": "8d4c5b8e-0000-0000-0000-000000000000",
            "platform": "aws",
            "status": "BUILD_DONE",
            "labels": {"git_sha": "abc"},
            "created_at": "2024-01-30T12:34:56Z",
            "metadata": {"packer": {"version": "1.16.0", "plugins": [{"name": "amazon"}]},
                         "vcs": {"type": "git", "details": {"dirty": false}}},
            "artifacts": [{"id": "a1", "external_identifier": "ami-0abc",
                           "region": "us-east-1", "created_at": "2024-01-30T12:34:56Z"}]
        });
        let version = json!({
            "id": "01HN0000000000000000000001",
            "bucket_name": "ubuntu-base",
            "name": "v1",
            "status": "VERSION_ACTIVE",
            "author_id": "someone",
            "fingerprint": "abc",
            "template_type": "HCL2",
            "has_descendants": false,
            "revocation_type": "REVOCATION_TYPE_UNSET",
            "created_at": "2024-01-30T12:34:56Z",
            "updated_at": "2024-01-30T12:34:56.123456789Z",
            "builds": [build]
        });
        json!({"bucket": {
            "id": "01HN0000000000000000000000",
            "name": "ubuntu-base",
            "description": "Ubuntu base image",
            "location": {"organization_id": "o", "project_id": "p",
                         "region": {"provider": "aws", "region": "us-east-1"}},
            "created_at": "2024-01-30T12:34:56.789Z",
            "updated_at": "2024-01-30T12:34:56+02:00",
            "platforms": ["aws"],
            "labels": {"os": "ubuntu", "team": "platform"},
            "version_count": "1",
            "parents": {"href": "", "status": "UP_TO_DATE"},
            "children": {"href": "", "status": "UNDETERMINED"},
            "resource_name": "packer/project/p/bucket/ubuntu-base",
            "latest_version": version
        }})
    }

    #[test]
    fn valid_get_bucket_body_passes() {
        let spec = packer();
        spec.check("PackerService_GetBucket", "200", &bucket_body());
        spec.check("PackerService_GetBucket", "200", &json!({}));
        spec.check("PackerService_GetBucket", "200", &json!({"bucket": {}}));
    }

    #[test]
    fn undeclared_property_fails_with_its_path() {
        let spec = packer();
        let mut body = bucket_body();
        body["bucket"]["latest_version"]["builds"][0]["artifacts"][0]["image_id"] = json!("x");
        body["extra"] = json!(1);
        let schema = spec.response_schema("PackerService_GetBucket", "200");
        let found = spec.violations(&schema, &body);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found.iter().any(|v| v
            .starts_with("$.bucket.latest_version.builds[0].artifacts[0].image_id: ")
            && v.contains("hashicorp.cloud.packer_20230101.Artifact")));
        assert!(found.iter().any(|v| v.starts_with("$.extra: ")));
    }

    #[test]
    #[should_panic(expected = "$.bucket.surprise")]
    fn check_panics_naming_the_violation() {
        packer().check(
            "PackerService_GetBucket",
            "200",
            &json!({"bucket": {"surprise": true}}),
        );
    }

    #[test]
    fn version_count_as_number_fails() {
        let spec = packer();
        let mut body = bucket_body();
        body["bucket"]["version_count"] = json!(1);
        let found = spec.violations(
            &spec.response_schema("PackerService_GetBucket", "200"),
            &body,
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("$.bucket.version_count: expected a string"),
            "{found:#?}"
        );
        for bad in ["1.5", "", "+1", "99999999999999999999", "0x10"] {
            body["bucket"]["version_count"] = json!(bad);
            let found = spec.violations(
                &spec.response_schema("PackerService_GetBucket", "200"),
                &body,
            );
            assert_eq!(found.len(), 1, "{bad:?} should fail: {found:#?}");
        }
        body["bucket"]["version_count"] = json!("-42");
        assert!(spec
            .violations(
                &spec.response_schema("PackerService_GetBucket", "200"),
                &body
            )
            .is_empty());
    }

    #[test]
    fn bad_enum_value_fails() {
        let spec = packer();
        let schema = spec.response_schema("PackerService_GetVersion", "200");
        let found = spec.violations(&schema, &json!({"version": {"status": "ACTIVE"}}));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("$.version.status: string \"ACTIVE\" is not a value of"));
        assert!(found[0].contains("VERSION_ACTIVE"));
        let found = spec.violations(&schema, &json!({"version": {"status": 6}}));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(spec
            .violations(&schema, &json!({"version": {"status": "VERSION_REVOKED"}}))
            .is_empty());
    }

    #[test]
    fn bad_date_time_fails() {
        let spec = packer();
        let schema = spec.response_schema("PackerService_GetBucket", "200");
        for bad in [
            "2024-01-30 12:34:56Z",
            "2024-01-30T12:34:56",
            "2024-02-30T12:34:56Z",
            "2024-01-30T24:00:00Z",
            "2024-01-30T12:34:56.Z",
            "2024-01-30T12:34:56+0200",
            "1706618096",
            "",
        ] {
            let found = spec.violations(&schema, &json!({"bucket": {"created_at": bad}}));
            assert_eq!(found.len(), 1, "{bad:?} should fail: {found:#?}");
            assert!(found[0].starts_with("$.bucket.created_at: "), "{found:#?}");
        }
        let found = spec.violations(&schema, &json!({"bucket": {"created_at": 1_706_618_096}}));
        assert_eq!(found.len(), 1, "{found:#?}");
        for good in [
            "2024-02-29T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2024-01-30T12:34:56.1-07:30",
            "2024-01-30T12:34:56.123456789+00:00",
        ] {
            assert_eq!(check_rfc3339(good), Ok(()), "{good:?}");
        }
        assert!(check_rfc3339("2023-02-29T00:00:00Z").is_err());
        assert!(check_rfc3339("2024-01-30T12:34:60Z").is_err());
        assert!(check_rfc3339("2024-01-30t12:34:56z").is_err());
        assert!(check_rfc3339("2024-01-30T12:34:56.1234567890Z").is_err());
    }

    #[test]
    fn null_is_rejected() {
        let spec = packer();
        let schema = spec.response_schema("PackerService_GetBucket", "200");
        let found = spec.violations(
            &schema,
            &json!({"bucket": {"latest_version": null, "name": null}}),
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        let found = spec.violations(&schema, &json!(null));
        assert_eq!(found.len(), 1, "{found:#?}");
    }

    #[test]
    fn error_response_passes_default_schema() {
        let spec = packer();
        let schema = spec.response_schema("PackerService_GetBucket", "default");
        assert_eq!(schema, json!({"$ref": "#/definitions/google.rpc.Status"}));
        spec.check(
            "PackerService_GetBucket",
            "default",
            &json!({"code": 5, "message": "x", "details": []}),
        );
        spec.check(
            "PackerService_CreateVersion",
            "default",
            &json!({"code": 3, "message": "bad", "details": [
                {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": [{"field": "x"}]}
            ]}),
        );
        let found = spec.violations(
            &schema,
            &json!({"code": "5", "error": "x", "details": [{"@type": 1}]}),
        );
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found
            .iter()
            .any(|v| v.starts_with("$.details[0][\"@type\"]: ")));
        let found = spec.violations(&schema, &json!({"code": 4_294_967_296_u64}));
        assert_eq!(found.len(), 1, "{found:#?}");
        resource_manager().check(
            "ProjectService_Get",
            "default",
            &json!({"code": 7, "message": "denied"}),
        );
    }

    #[test]
    fn empty_messages_and_free_form_structs() {
        let spec = packer();
        spec.check("PackerService_DeleteBucket", "200", &json!({}));
        let schema = spec.response_schema("PackerService_DeleteBucket", "200");
        assert_eq!(spec.violations(&schema, &json!({"deleted": true})).len(), 1);
        assert_eq!(spec.violations(&schema, &json!([])).len(), 1);
        let schema = spec.response_schema("PackerService_GetBuild", "200");
        let body = json!({"build": {"metadata": {"cicd": {"anything": [1, {"goes": null}]}}}});
        assert!(spec.violations(&schema, &body).is_empty());
        let body = json!({"build": {"metadata": {"cicd": "text"}, "labels": {"n": 1}}});
        assert_eq!(spec.violations(&schema, &body).len(), 2);
    }

    #[test]
    fn resource_manager_bodies() {
        let spec = resource_manager();
        let project = json!({"id": "p", "name": "default", "description": "",
            "parent": {"type": "ORGANIZATION", "id": "o"},
            "created_at": "2024-01-30T12:34:56Z", "state": "ACTIVE"});
        spec.check("ProjectService_Get", "200", &json!({"project": project}));
        spec.check(
            "ProjectService_List",
            "200",
            &json!({"projects": [project], "pagination": {}}),
        );
        spec.check(
            "OrganizationService_List",
            "200",
            &json!({"organizations": [{"id": "o", "name": "org", "state": "ACTIVE",
                "created_at": "2024-01-30T12:34:56Z"}], "pagination": {"next_page_token": ""}}),
        );
        let schema = spec.response_schema("ProjectService_Get", "200");
        let found = spec.violations(&schema, &json!({"project": {"parent": {"type": "ORG"}}}));
        assert_eq!(found.len(), 1, "{found:#?}");
    }

    #[test]
    fn every_operation_accepts_an_empty_object() {
        for spec in [packer(), resource_manager()] {
            let ids: Vec<String> = spec
                .operations()
                .map(|(_, _, _, id)| id.to_string())
                .collect();
            assert!(ids.len() > 30);
            for id in ids {
                for status in ["200", "default"] {
                    let schema = spec.response_schema(&id, status);
                    assert!(
                        spec.violations(&schema, &json!({})).is_empty(),
                        "{id} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn operation_ids_are_spelled_service_underscore_method() {
        let spec = packer();
        for method in [
            "GetBucket",
            "CreateBucket",
            "UpdateBucket",
            "ListBuckets",
            "GetVersion",
            "CreateVersion",
            "ListVersions",
            "UpdateVersion",
            "ListBuilds",
            "CreateBuild",
            "GetBuild",
            "UpdateBuild",
            "GetChannel",
            "CreateChannel",
            "UpdateChannel",
            "DeleteChannel",
            "ListChannels",
            "ListChannelAssignmentHistory",
            "GetEnforcedBlocksByBucket",
            "UploadSbom",
            "GetRegistry",
        ] {
            let id = format!("PackerService_{method}");
            assert!(spec.find_operation(&id).is_some(), "{id}");
        }
        let spec = resource_manager();
        for id in [
            "ProjectService_Get",
            "ProjectService_List",
            "OrganizationService_List",
        ] {
            assert!(spec.find_operation(id).is_some(), "{id}");
        }
    }

    #[test]
    #[should_panic(expected = "no operation with operationId \"GetBucket\"")]
    fn unknown_operation_panics() {
        packer().response_schema("GetBucket", "200");
    }

    #[test]
    fn operation_for_matches_templates() {
        let spec = packer();
        let base = "/packer/2023-01-01/organizations/a/projects/b";
        let cases = [
            (
                "PATCH",
                "/buckets/c/versions/d/builds/e",
                Some("PackerService_UpdateBuild"),
            ),
            (
                "GET",
                "/buckets/c/versions/d/builds/e",
                Some("PackerService_GetBuild"),
            ),
            ("get", "/buckets/c?x=1", Some("PackerService_GetBucket")),
            ("PUT", "/buckets", Some("PackerService_CreateBucket")),
            (
                "POST",
                "/buckets/c/channels/assign",
                Some("PackerService_AssignChannelVersion"),
            ),
            (
                "PATCH",
                "/buckets/c/channels/assign",
                Some("PackerService_UpdateChannel"),
            ),
            (
                "GET",
                "/runtasks/config",
                Some("PackerService_GetRunTaskConfig"),
            ),
            (
                "GET",
                "/runtasks/other",
                Some("PackerService_GetRegistryTFCRunTaskAPI"),
            ),
            (
                "GET",
                "/enforced_blocks/bucket/c",
                Some("PackerService_GetEnforcedBlocksByBucket"),
            ),
            ("GET", "/registry", Some("PackerService_GetRegistry")),
            (
                "PUT",
                "/buckets/c/versions/d/builds/e/sboms",
                Some("PackerService_UploadSbom"),
            ),
            ("POST", "/buckets/c", None),
            ("GET", "/buckets/c/nothing", None),
            ("GET", "/buckets//versions", None),
        ];
        for (method, tail, want) in cases {
            let got = spec.operation_for(method, &format!("{base}{tail}"));
            assert_eq!(got.as_deref(), want, "{method} {tail}");
        }
        let spec = resource_manager();
        let base = "/resource-manager/2019-12-10";
        let cases = [
            ("GET", "/projects/p", Some("ProjectService_Get")),
            ("GET", "/projects", Some("ProjectService_List")),
            (
                "GET",
                "/projects/count",
                Some("ProjectService_GetProjectsCount"),
            ),
            ("GET", "/organizations", Some("OrganizationService_List")),
            (
                "GET",
                "/organizations/o/roles",
                Some("OrganizationService_ListRoles"),
            ),
            (
                "GET",
                "/organizations/o/roles/admin",
                Some("OrganizationService_GetRole"),
            ),
            (
                "GET",
                "/organizations/o/constraints/c",
                Some("OrganizationService_GetConstraint"),
            ),
            ("GET", "/organizations/o/other/c", None),
        ];
        for (method, tail, want) in cases {
            let got = spec.operation_for(method, &format!("{base}{tail}"));
            assert_eq!(got.as_deref(), want, "{method} {tail}");
        }
    }

    #[test]
    fn base64_and_decimal_helpers() {
        assert!(check_base64("aGVsbG8=").is_ok());
        assert!(check_base64("aGVsbG8").is_ok());
        assert!(check_base64("a-_b").is_ok());
        assert!(check_base64("aGVsbG8==").is_err());
        assert!(check_base64("a").is_err());
        assert!(check_base64("a b=").is_err());
        assert_eq!(
            check_decimal("18446744073709551615", false, 0, u64::MAX.into()),
            None
        );
        assert!(check_decimal("-1", false, 0, u64::MAX.into()).is_some());
        assert!(check_decimal("-", true, i64::MIN.into(), i64::MAX.into()).is_some());
        assert_eq!(split_pattern("roles/[^/]+"), ["roles", "[^/]+"]);
        assert_eq!(split_pattern(r"a\/b/c"), [r"a\/b", "c"]);
    }
}
