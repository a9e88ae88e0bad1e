//! Evaluation against the real Packer: every expression of the captured `packer console`
//! fixture (tests/fixtures/console) evaluated by kiln and compared with what Packer printed.

use crate::test::repo_root;
use kiln::config::{self, LoadOptions};
use kiln::source::SourceMap;
use kiln::value::to_console;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Where kiln deliberately differs from Packer 1.6.6, and why.
const DEVIATIONS: &[(&str, &str)] = &[
    ("upper(var.password)", "1.6.6 prints values derived from a sensitive variable in clear; kiln keeps them masked"),
    ("length(var.password)", "derived from a sensitive value: kiln masks it"),
    ("\"Hunter2-Kiln-Secret\"", "1.6.6 masks any text equal to a secret; kiln tracks sensitivity by value, not by text"),
    ("null[*]", "1.6.6 (HCL 2.8) yields an unknown; current HCL and kiln yield an empty tuple"),
    ("null[*].a", "1.6.6 (HCL 2.8) yields an unknown; current HCL and kiln yield an empty tuple"),
    ("\"${var.password}-x\"", "1.6.6 masks the secret's text inside the string; kiln masks the whole derived string"),
    ("jsonencode(var.password)", "1.6.6 encodes the mask text; kiln keeps the encoded secret masked"),
    ("\"xHunter2-Kiln-Secretx\"", "1.6.6 masks any text equal to a secret; kiln tracks sensitivity by value"),
    ("packer.version", "kiln implements the template language of Packer 1.11, and says so"),
    ("index([\"a\", \"b\", \"c\"], 1)", "1.6.6's `index` is HCL's element lookup; kiln follows today's Packer: index(list, value) finds a position"),
    ("index([\"a\", \"b\", \"c\"], \"b\")", "1.6.6 rejects the documented form; kiln follows the documentation (see expected-docs.json)"),
];

fn entries(file: &str) -> Vec<Json> {
    let path = repo_root().join("tests/fixtures/console").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text).expect("fixture is JSON") {
        Json::Array(items) => items,
        _ => panic!("fixture is an array"),
    }
}

fn context() -> (SourceMap, kiln::eval::Context) {
    // The fixture's context reads this through env() in a variable default.
    std::env::set_var("KILN_CONSOLE_FIXTURE", "from-the-environment");
    let mut sources = SourceMap::new();
    let options = LoadOptions {
        // Relative, as the capture ran it: `path.root` shows the path as given.
        path: "tests/fixtures/console/context.pkr.hcl".into(),
        timestamp: "2026-11-24T12:00:00Z".into(),
        cwd: repo_root(),
        allow_unset: true,
        ..LoadOptions::default()
    };
    let (template, diags) = config::load(&mut sources, &options);
    let template = template.unwrap_or_else(|| {
        panic!(
            "the console context loads:\n{}",
            kiln::diagnostic::render_all(&diags, &sources, false)
        )
    });
    (sources, template.console_context())
}

#[test]
fn expressions_evaluate_as_packer_console_prints_them() {
    let (mut sources, ctx) = context();
    let deviations: BTreeMap<&str, &str> = DEVIATIONS.iter().copied().collect();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in ["expected.json", "expected-docs.json"] {
        for entry in entries(file) {
            let expr_text = entry["expr"].as_str().expect("expr");
            if deviations.contains_key(expr_text) || entry["sensitive"].as_bool() == Some(true) {
                continue;
            }
            if entry.get("context").and_then(Json::as_str).is_some() {
                // Cases that need a different evaluation context (env() in a default).
                continue;
            }
            checked += 1;
            let id = sources.add_text("<console-input>", expr_text.to_string());
            let result = kiln::syntax::parse_expression(id, expr_text)
                .and_then(|e| ctx.eval(&e).map_err(|d| vec![d]));
            let expects_error = entry["error"].as_bool().unwrap_or(false);
            match (result, expects_error) {
                (Ok(v), true) => failures.push(format!(
                    "{file}: `{expr_text}` should fail (Packer: {}), kiln gave {}",
                    entry["error_text"]
                        .as_str()
                        .unwrap_or("")
                        .lines()
                        .last()
                        .unwrap_or(""),
                    to_console(&v)
                )),
                (Err(_), true) => {}
                (Err(d), false) => failures.push(format!(
                    "{file}: `{expr_text}` failed in kiln: {}; Packer printed {:?}",
                    d[0].message, entry["raw"]
                )),
                (Ok(v), false) => {
                    let got = to_console(&v);
                    if let Some(shape) = entry["shape"].as_str() {
                        let re = regex::Regex::new(&format!("^(?:{shape})$")).expect("shape regex");
                        if !re.is_match(&got) {
                            failures.push(format!(
                                "{file}: `{expr_text}` gave {got:?}, not of shape {shape}"
                            ));
                        }
                        continue;
                    }
                    let want = entry["raw"].as_str().unwrap_or("");
                    if got != want {
                        failures.push(format!(
                            "{file}: `{expr_text}`\n  kiln:   {got:?}\n  packer: {want:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 700, "only {checked} expressions checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} expressions differ from Packer:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn deviations_from_packer_are_the_documented_ones() {
    let (mut sources, ctx) = context();
    let eval = |sources: &mut SourceMap, text: &str| {
        let id = sources.add_text("<console-input>", text.to_string());
        let expr = kiln::syntax::parse_expression(id, text).expect("parses");
        to_console(&ctx.eval(&expr).expect("evaluates"))
    };
    // Derived secrets stay masked, at the top level and inside collections.
    assert_eq!(eval(&mut sources, "upper(var.password)"), "<sensitive>");
    assert_eq!(
        eval(&mut sources, "[upper(var.password)]"),
        "[\n  \"<sensitive>\",\n]"
    );
    assert_eq!(
        eval(&mut sources, "{ p = var.password }"),
        "{\n  \"p\" = \"<sensitive>\"\n}"
    );
    assert_eq!(eval(&mut sources, "null[*]"), "[]");
    // A sensitive value inside an object does not taint its neighbours.
    assert_eq!(eval(&mut sources, "var.name"), "kiln");
}
