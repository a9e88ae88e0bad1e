//! Parsing: the spec suite, the corpus, diagnostics and robustness.

use crate::test::{shared_dir, with_snapshots, Test};
use kiln::diagnostic::{render_all, Code, Diagnostic};
use kiln::source::{FileId, SourceMap};
use kiln::syntax::{self, Body, Expr, ExprKind};
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn parse_path(path: &Path) -> (SourceMap, FileId, Result<Body, Vec<Diagnostic>>) {
    let mut sources = SourceMap::new();
    let id = sources.read(path).expect("fixture is UTF-8");
    let result = syntax::parse(id, sources.get(id).text());
    (sources, id, result)
}

fn number(expr: &Expr) -> usize {
    match &expr.kind {
        ExprKind::Number(n) => n.parse().expect("an integer"),
        other => panic!("expected a number, got {other:?}"),
    }
}

/// The `from` positions (line, column) of the errors a spec-suite `.t` file expects.
fn expected_errors(t: &Body) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for diags in t.blocks().filter(|b| b.ident.name == "diagnostics") {
        for err in diags.body.blocks().filter(|b| b.ident.name == "error") {
            let from = err
                .body
                .blocks()
                .find(|b| b.ident.name == "from")
                .expect("an expected error has a from block");
            let line = number(&from.body.attribute("line").expect("line").expr);
            let column = number(&from.body.attribute("column").expect("column").expr);
            out.push((line, column));
        }
    }
    out
}

#[test]
fn spec_suite_valid_files_parse_and_invalid_ones_fail_where_expected() {
    let suite = shared_dir().join("hcl-spec/specsuite");
    let files = files_under(&suite, ".hcl");
    assert_eq!(files.len(), 15, "the spec suite has 15 native-syntax files");
    let mut valid = 0;
    let mut invalid = 0;
    for hcl in files {
        let t_path = hcl.with_extension("t");
        let (_, _, t) = parse_path(&t_path);
        let t = t.unwrap_or_else(|d| panic!("{} parses: {d:?}", t_path.display()));
        let expected = expected_errors(&t);
        let (sources, id, result) = parse_path(&hcl);
        let name = hcl.file_stem().unwrap().to_string_lossy().to_string();
        // `unexpected` fails only when decoded against its schema, not when parsed.
        if expected.is_empty() || name == "unexpected" {
            if let Err(diags) = result {
                panic!(
                    "{} should parse:\n{}",
                    hcl.display(),
                    render_all(&diags, &sources, false)
                );
            }
            valid += 1;
            continue;
        }
        invalid += 1;
        let diags = result.expect_err(&format!("{} must be rejected", hcl.display()));
        let file = sources.get(id);
        let got: Vec<(usize, usize)> = diags
            .iter()
            .map(|d| {
                let p = file.position(d.span.expect("a syntax error has a span").start as usize);
                (p.line, p.column)
            })
            .collect();
        assert_eq!(
            got,
            expected,
            "{}: diagnostics start where the .t file says\n{}",
            hcl.display(),
            render_all(&diags, &sources, false)
        );
    }
    assert_eq!((valid, invalid), (12, 3));
}

/// Corpus files that are deliberately invalid, with the line HashiCorp's parser reports.
const INVALID_CORPUS: &[(&str, usize)] = &[
    ("command__test-fixtures__fmt_errs__malformed", 5),
    (
        "datasource__hcp-packer-iteration__test-fixtures__hcp-setup-build",
        3,
    ),
    (
        "datasource__hcp-packer-iteration__test-fixtures__template",
        14,
    ),
    (
        "datasource__hcp-packer-version__test-fixtures__hcp-setup-build",
        3,
    ),
    (
        "datasource__hcp-packer-version__test-fixtures__template",
        14,
    ),
    (
        "hcl2template__testdata__init__duplicate_required_plugins__packer",
        8,
    ),
];

fn corpus_files() -> Vec<PathBuf> {
    files_under(&shared_dir().join("corpus"), ".hcl")
}

#[test]
fn every_corpus_file_parses_except_the_invalid_fixtures() {
    let files = corpus_files();
    assert!(files.len() >= 370, "corpus has {} files", files.len());
    let mut failures = Vec::new();
    let mut rejected = Vec::new();
    for path in &files {
        let (sources, id, result) = parse_path(path);
        let stem = path.file_name().unwrap().to_string_lossy();
        let invalid = INVALID_CORPUS
            .iter()
            .find(|(name, _)| stem.starts_with(name));
        match (result, invalid) {
            (Ok(_), None) => {}
            (Ok(_), Some(_)) => failures.push(format!("{} should be rejected", path.display())),
            (Err(diags), None) => failures.push(render_all(&diags, &sources, false)),
            (Err(diags), Some((name, line))) => {
                let first = sources
                    .get(id)
                    .position(diags[0].span.expect("span").start as usize);
                if first.line != *line {
                    failures.push(format!(
                        "{name}: first error on line {}, expected {line}",
                        first.line
                    ));
                }
                rejected.push(name);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(rejected.len(), INVALID_CORPUS.len());
}

#[test]
fn syntax_error_diagnostics() {
    with_snapshots(|| {
        insta::glob!("fixtures/syntax/errors/*.pkr.hcl", |path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let out = Test::new()
                .write(&name, std::fs::read(path).expect("fixture"))
                .args(["validate", "-syntax-only", &name])
                .status(1)
                .run();
            insta::assert_snapshot!(out.stderr);
        });
    });
}

#[test]
fn validate_syntax_only_accepts_directories_and_both_flag_spellings() {
    let seed = std::fs::read_to_string(shared_dir().join("seed-template.pkr.hcl")).expect("seed");
    for flag in ["-syntax-only", "--syntax-only"] {
        Test::new()
            .write("t/seed.pkr.hcl", &seed)
            .write("t/vars.pkrvars.hcl", "region = \"us-east-1\"\n")
            .write("t/notes.txt", "not a template {")
            .args(["validate", flag, "t"])
            .stdout("The configuration is valid.\n")
            .run();
    }
}

#[test]
fn validate_syntax_only_reports_every_broken_file() {
    Test::new()
        .write("a.pkr.hcl", "locals {\n  a = \n}\n")
        .write("b.pkr.hcl", "locals {\n  b = 1\n}\n")
        .write("c.pkr.hcl", "source {\n")
        .args([
            "validate",
            "-syntax-only",
            "a.pkr.hcl",
            "b.pkr.hcl",
            "c.pkr.hcl",
        ])
        .status(1)
        .stderr_contains("--> a.pkr.hcl:2:")
        .stderr_contains("--> c.pkr.hcl:1:8")
        .run();
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Parse `text` and check the result is an AST or diagnostics whose spans lie inside it.
fn check_no_panic(label: &str, text: &str) {
    let mut sources = SourceMap::new();
    let id = sources.add_text(label, text);
    let result = std::panic::catch_unwind(|| syntax::parse(id, text));
    let result = result.unwrap_or_else(|_| panic!("parser panicked on {label}: {text:?}"));
    if let Err(diags) = result {
        assert!(
            !diags.is_empty(),
            "{label}: an error result carries diagnostics"
        );
        for d in &diags {
            let span = d.span.expect("syntax errors have spans");
            assert!(
                span.start <= span.end && (span.end as usize) <= text.len(),
                "{label}: span {span:?} outside input of {} bytes",
                text.len()
            );
            assert!(
                text.is_char_boundary(span.start as usize),
                "{label}: span starts inside a character"
            );
        }
        let rendered = render_all(&diags, &sources, false);
        assert!(rendered.contains("error"), "{label}: rendered diagnostics");
    }
}

fn small_corpus_files() -> Vec<(String, String)> {
    corpus_files()
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            (text.len() < 3000)
                .then(|| (p.file_name().unwrap().to_string_lossy().to_string(), text))
        })
        .collect()
}

#[test]
fn every_prefix_of_several_corpus_files_parses_or_fails_cleanly() {
    let picks = [
        "hashicorp__learn-packer-multicloud/packer__build.pkr.hcl",
        "hashicorp__packer/hcl2template__testdata__complete__build.pkr.hcl",
        "hashicorp__packer/hcl2template__testdata__variables__complicated__a.pkr.hcl",
    ];
    let seed = shared_dir().join("seed-template.pkr.hcl");
    let mut paths: Vec<PathBuf> = picks
        .iter()
        .map(|p| shared_dir().join("corpus").join(p))
        .collect();
    paths.push(seed);
    let mut checked = 0;
    for path in paths {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            check_no_panic(&format!("{}[..{end}]", path.display()), &text[..end]);
            checked += 1;
        }
    }
    assert!(checked > 2000, "checked {checked} prefixes");
}

#[test]
fn ten_thousand_random_mutations_parse_or_fail_cleanly() {
    const INTERESTING: &[u8] = b"{}[]()\"=$%~\n\r\t#/*<-.,:?!&|\\ 0aZ\xc3\xa9\xff";
    let files = small_corpus_files();
    assert!(files.len() > 50);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..10_000 {
        let (name, text) = &files[rng.below(files.len())];
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            let byte = if rng.below(4) == 0 {
                rng.next() as u8
            } else {
                INTERESTING[rng.below(INTERESTING.len())]
            };
            match rng.below(3) {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
        }
        let mutated = String::from_utf8_lossy(&bytes);
        check_no_panic(&format!("mutation {round} of {name}"), &mutated);
    }
}

#[test]
fn template_forms_lower_as_hcl_defines_them() {
    let text = r#"
a = "x${y}z %{ if c ~} yes %{~ else }no%{ endif }"
b = <<-EOT
    one
      two
    ${three}
    EOT
c = "esc \" \\ \n \u00e9 $${lit} %%{lit}"
d = "  ${~ v ~}  end"
"#;
    let body = syntax::parse(FileId(0), text).expect("parses");
    let literal = |name: &str| match &body.attribute(name).unwrap().expr.kind {
        ExprKind::Template(t) => t.clone(),
        other => panic!("{name} is {other:?}"),
    };
    let b = literal("b");
    let texts: Vec<String> = b
        .parts
        .iter()
        .filter_map(|p| match p {
            syntax::TemplatePart::Literal(s, _) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["one\n  two\n", "\n"]);
    assert_eq!(
        literal("c").as_literal().unwrap(),
        "esc \" \\ \n é ${lit} %{lit}"
    );
    let d = literal("d");
    assert!(
        matches!(&d.parts[..], [syntax::TemplatePart::Interpolation(_), syntax::TemplatePart::Literal(s, _)] if s == "end")
    );
    let a = literal("a");
    match &a.parts[3] {
        syntax::TemplatePart::If {
            then, otherwise, ..
        } => {
            assert_eq!(then.as_literal().unwrap(), "yes");
            assert_eq!(otherwise.as_ref().unwrap().as_literal().unwrap(), "no");
        }
        other => panic!("expected an if, got {other:?}"),
    }
}

#[test]
fn operators_fold_with_hcl_precedence() {
    let body = syntax::parse(
        FileId(0),
        "x = !a || b && c == d + e * -f < g ? h : i ? j : k\n",
    )
    .expect("parses");
    let shape = fn_shape(&body.attribute("x").unwrap().expr);
    assert_eq!(
        shape,
        "((!a || (b && (c == ((d + (e * -f)) < g)))) ? h : (i ? j : k))"
    );
    let body = syntax::parse(FileId(0), "y = a - b - c / d / e % f\n").expect("parses");
    assert_eq!(
        fn_shape(&body.attribute("y").unwrap().expr),
        "((a - b) - (((c / d) / e) % f))"
    );
}

fn fn_shape(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Variable(v) => v.name.clone(),
        ExprKind::Unary(op, x) => format!(
            "{}{}",
            if *op == syntax::UnaryOp::Not {
                "!"
            } else {
                "-"
            },
            fn_shape(x)
        ),
        ExprKind::Binary(first, rest) => rest.iter().fold(fn_shape(first), |a, (op, b)| {
            format!("({a} {} {})", op.symbol(), fn_shape(b))
        }),
        ExprKind::Conditional(c, a, b) => {
            format!("({} ? {} : {})", fn_shape(c), fn_shape(a), fn_shape(b))
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn splats_and_traversals() {
    let body =
        syntax::parse(FileId(0), "a = x[*].y[0]\nb = x.*.y[0]\nc = x.0.y\n").expect("parses");
    let kind = |n: &str| body.attribute(n).unwrap().expr.kind.clone();
    match kind("a") {
        ExprKind::Splat(s) => assert!(s.full && s.each.len() == 2),
        other => panic!("{other:?}"),
    }
    match kind("b") {
        ExprKind::Index(inner, _) => {
            assert!(matches!(inner.kind, ExprKind::Splat(ref s) if !s.full && s.each.len() == 1))
        }
        other => panic!("{other:?}"),
    }
    match kind("c") {
        ExprKind::GetAttr(inner, name) => {
            assert_eq!(name.name, "y");
            assert!(matches!(inner.kind, ExprKind::GetAttr(_, ref i) if i.name == "0"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn crlf_no_final_newline_empty_and_unicode_files_parse() {
    for text in [
        "",
        "\n\n",
        "# only a comment",
        "a = 1",
        "a = 1\r\nb {\r\n  c = \"d\"\r\n}\r\n",
        "ünïcode_name = \"ok\"\nблок \"метка\" {\n  ключ = 1\n}\n",
        "a = [\n  1, # one\n  2, // two\n  /* three */ 3,\n]\n",
        "a = {\n  b = 1\n  \"c\" : 2, d = 3\n  b = 4\n}\n",
        "a = f(\n  x,\n  y...\n)\n",
        "a = 1e3 + 1.5E-2\n",
    ] {
        if let Err(d) = syntax::parse(FileId(0), text) {
            panic!("{text:?} should parse: {d:?}");
        }
    }
}

#[test]
fn an_unterminated_heredoc_is_named_by_its_own_opener() {
    let dir = crate::test::repo_root().join("fuzz/regressions");
    let text = std::fs::read_to_string(dir.join("unterminated-heredoc-after-heredoc-text.pkr.hcl"))
        .expect("regression input");
    // A heredoc that closes is skipped whole; the one left open is the second, and a `<<`
    // in a heredoc's text is no opener.
    let two = "a = <<EOT\nx <<EOF\nEOT\nb = <<-EOF\n  y\n";
    for (text, opener, marker) in [(text.as_str(), "<<T", "`T`"), (two, "<<-EOF", "`EOF`")] {
        let diags = syntax::parse(FileId(0), text).expect_err("the heredoc is unterminated");
        let span = diags[0].span.expect("the diagnostic has a span");
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            end <= text.len(),
            "{span:?} is past the {} bytes of {text:?}",
            text.len()
        );
        assert_eq!(&text[start..end], opener);
        assert_eq!(diags[0].code, Code::UnterminatedHeredoc);
        assert!(diags[0].message.contains(marker), "{}", diags[0].message);
    }
    // A heredoc that closed is not blamed for a block left open after it.
    let closed = "locals {\n  script = <<EOT\necho hi\nEOT\n";
    let diags = syntax::parse(FileId(0), closed).expect_err("the block is unclosed");
    assert_eq!(diags[0].code, Code::Unclosed, "{}", diags[0].message);
    let brace = closed.find('{').expect("the block opens");
    let span = diags[0].span.expect("the diagnostic has a span");
    assert_eq!(
        (span.start as usize, span.end as usize),
        (brace, brace + 1),
        "points at the block's `{{`"
    );
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    let dir = crate::test::repo_root().join("fuzz/regressions");
    for name in [
        "stack-overflow-nested-blocks.pkr.hcl",
        "stack-overflow-nested-tuples.pkr.hcl",
        "stack-overflow-nested-tuples-parallel.pkr.hcl",
    ] {
        let text = std::fs::read(dir.join(name)).expect("regression input");
        // Several copies: -syntax-only parses them on worker threads with smaller stacks.
        let mut test = Test::new();
        for i in 0..4 {
            test = test.write(format!("d/{i}.pkr.hcl"), &text);
        }
        test.args(["validate", "-syntax-only", "d"])
            .status(1)
            .stderr_contains("nest more than 100 levels deep")
            .run();
    }
    // Nesting just under the limit parses, evaluates and prints.
    let deep = format!(
        "locals {{\n  x = {}1{}\n}}\n",
        "[".repeat(99),
        "]".repeat(99)
    );
    let out = Test::new()
        .write("t.pkr.hcl", deep)
        .args(["console", "t.pkr.hcl"])
        .stdin("length(local.x)\n")
        .run();
    assert_eq!(out.stdout, "1\n");
}

#[test]
fn long_conditional_and_traversal_chains_are_diagnostics_and_operator_chains_are_not() {
    for text in [
        format!("a = {}2\n", "x ? 1 : ".repeat(20_000)),
        format!("a = x{}\n", ".b".repeat(100_000)),
    ] {
        Test::new()
            .write("t.pkr.hcl", text)
            .args(["validate", "-syntax-only", "t.pkr.hcl"])
            .status(1)
            .stderr_contains("nests more than 512 levels deep")
            .run();
    }
    // A flat chain of one operator is no nesting, however long.
    let out = Test::new()
        .write(
            "t.pkr.hcl",
            format!("locals {{\n  a = {}1\n}}\n", "1 + ".repeat(100_000)),
        )
        .args(["console", "t.pkr.hcl"])
        .stdin("local.a\n")
        .run();
    assert_eq!(out.stdout, "100001\n");
}

/// Unclosed calls nested in objects: each level once read the rest twice, so 60 levels would
/// never finish (fuzz/regressions/slow-unclosed-calls-in-objects.txt has the fuzzer's input).
#[test]
fn unclosed_calls_nested_in_objects_are_read_once() {
    let found =
        crate::test::repo_root().join("fuzz/regressions/slow-unclosed-calls-in-objects.txt");
    let line = std::fs::read_to_string(found).expect("the regression input");
    for text in [
        line,
        format!("{}\n", "v({a =".repeat(60)),
        format!("{}\n", "({a =v(".repeat(60)),
    ] {
        let out = Test::new()
            .args(["console"])
            .stdin(text.clone())
            .run_unchecked();
        assert_eq!(out.status, 0, "{}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{text}: {}", out.stderr);
    }
}
