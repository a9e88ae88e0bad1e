//! Hostile input and hostile surroundings: a secret in every position a template can put it,
//! long chains, many locals, values that are not plain in variable files, JSON templates with
//! types, and output streams that are gone.

use super::{build, spawn_kiln, Test};
use crate::test::kiln_bin;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "SWEEP-s3cr3t-9x7";

/// One sensitive value, given in a variable file as a user would, used as a map key, an object
/// key, a `for` variable and key, an index, an environment variable (both spellings) and a
/// `templatefile` argument.
fn sweep(test: Test) -> Test {
    test.write(
        "tpl/t.pkr.hcl",
        r#"
variable "secret" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.secret) < 20
    error_message = "The secret is too long."
  }
}

locals {
  by_key   = { (var.secret) = "found" }
  keyed    = { for s in [var.secret] : s => "v" }
  listed   = [for s in [var.secret, "plain"] : s]
  indexed  = local.by_key[var.secret]
  rendered = templatefile("t.tpl", { value = var.secret })
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    environment_vars = ["FROM_LIST=${var.secret}"]
    env              = { FROM_MAP = var.secret }
    inline = [
      "echo list=$FROM_LIST map=$FROM_MAP",
      "echo indexed=${local.indexed} keyed=${jsonencode(local.keyed)} listed=${local.listed[0]}",
      "touch started",
      "sleep 1",
    ]
  }
}
"#,
    )
    .write("tpl/t.tpl", "rendered ${value}")
    .write(
        "tpl/secret.auto.pkrvars.hcl",
        format!("secret = \"{SECRET}\"\n"),
    )
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret:\n{text}");
}

#[test]
fn a_sensitive_value_shows_in_no_output_of_any_command_in_any_position() {
    let test = sweep(Test::new())
        .write("bad-type.pkrvars.hcl", format!("secret = [\"{SECRET}\"]\n"))
        .write(
            "call.pkrvars.hcl",
            format!("secret = upper(\"{SECRET}\")\n"),
        );
    let dir = test.dir();

    let child = spawn_kiln(
        dir,
        &[
            "build",
            "-color=false",
            "-machine-readable",
            "-events=ev.json",
            "-log-dir=logs",
            "tpl",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.join("started").exists() {
        assert!(Instant::now() < deadline, "the build never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_hidden(
        "a command line during the build",
        &super::reliability::all_command_lines(),
    );
    let out = child.wait_with_output().expect("kiln ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("list=<sensitive> map=<sensitive>"),
        "the secret reached the script: {stdout}"
    );
    assert_hidden("build -machine-readable", &stdout);
    assert_hidden("build's stderr", &String::from_utf8_lossy(&out.stderr));
    assert_hidden(
        "-events",
        &std::fs::read_to_string(dir.join("ev.json")).unwrap(),
    );
    assert_hidden(
        "-log-dir",
        &std::fs::read_to_string(dir.join("logs/null.a.log")).unwrap(),
    );

    let plain = build(&test, &["build", "-color=false", "tpl"], 0);
    // Read with a sensitive key, the value is sensitive too, as in HCL.
    assert!(
        plain
            .stdout
            .contains("indexed=<sensitive> keyed={<sensitive>:v} listed=<sensitive>"),
        "{}",
        plain.stdout
    );
    assert_hidden("build", &plain.stdout);
    assert_hidden("build", &plain.stderr);
    let too_long = format!("-var=secret={SECRET}-and-more");
    let runs: Vec<(&str, Vec<&str>, i32)> = vec![
        ("validate", vec!["validate", "tpl"], 0),
        ("inspect", vec!["inspect", "tpl"], 0),
        ("build -dry-run", vec!["build", "-dry-run", "tpl"], 0),
        ("graph", vec!["graph", "tpl"], 0),
        ("fmt -check", vec!["fmt", "-check", "-diff", "tpl"], 0),
        (
            "a -var that fails its validation",
            vec!["validate", &too_long, "tpl"],
            1,
        ),
        (
            "a -var-file of the wrong type",
            vec!["validate", "-var-file=bad-type.pkrvars.hcl", "tpl"],
            1,
        ),
        (
            "a -var-file with a call",
            vec!["validate", "-var-file=call.pkrvars.hcl", "tpl"],
            1,
        ),
    ];
    for (what, args, status) in runs {
        let out = build(&test, &args, status);
        assert_hidden(what, &out.stdout);
        assert_hidden(what, &out.stderr);
    }

    let expressions = [
        "local.by_key",
        "local.keyed",
        "local.listed",
        "local.rendered",
        "keys(local.by_key)",
        "{ a = 1 }[var.secret]",
        "[1][var.secret]",
        "{ for s in [var.secret, var.secret] : s => 1 }",
        "templatefile(var.secret, {})",
        "var.secret + 1",
    ];
    let console = sweep(Test::new())
        .args(["console", "tpl"])
        .stdin(expressions.join("\n") + "\n")
        .run_unchecked();
    assert_hidden("console", &console.stdout);
    assert_hidden("console's errors", &console.stderr);
    assert!(
        console.stderr.contains("is not in this map"),
        "{}",
        console.stderr
    );
}

/// Runs of one precedence are kept flat (see `syntax::long_conditional_and_traversal_chains_*`
/// for 100,000 terms); they still read left to right, and levels still bind as in HCL.
#[test]
fn flat_operator_runs_keep_precedence_and_order() {
    let out = Test::new()
        .write("t.pkr.hcl", "locals {\n  a = 1\n}\n")
        .args(["console", "t.pkr.hcl"])
        .stdin("1 - 2 - 3 + 10 * 2 / 4 % 3 == -2 == true\n8 / 4 / 2\n2 + 3 * 4 - 1\n")
        .run();
    assert_eq!(out.stdout, "true\n1\n13\n");
}

#[test]
fn sixteen_thousand_chained_locals_each_read_the_one_before() {
    let mut text = String::from("locals {\n  l0 = 1\n");
    for i in 1..16_000 {
        text.push_str(&format!("  l{i} = local.l{} + 1\n", i - 1));
    }
    text.push_str("}\n");
    let out = Test::new()
        .write("t.pkr.hcl", text)
        .args(["console", "t.pkr.hcl"])
        .stdin("local.l15999\n")
        .run();
    assert_eq!(out.stdout, "16000\n");
}

#[test]
fn variable_files_and_var_flags_take_plain_values_only() {
    let template = r#"
variable "name" {
  type = string
}

variable "names" {
  type    = list(string)
  default = []
}
"#;
    let test = Test::new()
        .write("t.pkr.hcl", template)
        .write("call.pkrvars.hcl", "name = upper(\"a\")\n")
        .write("reference.pkrvars.hcl", "name = \"${path.root}\"\n")
        .write(
            "plain.pkrvars.hcl",
            "name = \"a-${\"b\"}\"\nnames = [for n in [\"x\"] : n]\n",
        );
    let out = build(
        &test,
        &["validate", "-var-file=call.pkrvars.hcl", "t.pkr.hcl"],
        1,
    );
    assert!(
        out.stderr
            .contains("error: function calls are not allowed here\n --> call.pkrvars.hcl:1:8"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("has no value"),
        "reported once: {}",
        out.stderr
    );
    let out = build(
        &test,
        &["validate", "-var-file=reference.pkrvars.hcl", "t.pkr.hcl"],
        1,
    );
    assert!(
        out.stderr
            .contains("error: variables are not allowed here\n --> reference.pkrvars.hcl:1:11"),
        "{}",
        out.stderr
    );
    let out = build(
        &test,
        &[
            "validate",
            "-var=name=a",
            "-var=names=[upper(\"a\")]",
            "t.pkr.hcl",
        ],
        1,
    );
    assert!(
        out.stderr.contains("function calls are not allowed here"),
        "{}",
        out.stderr
    );
    build(
        &test,
        &["validate", "-var-file=plain.pkrvars.hcl", "t.pkr.hcl"],
        0,
    );
}

#[test]
fn a_json_template_declares_typed_variables() {
    let template = r#"{
  "variable": {
    "count": {"type": "number", "default": 3},
    "names": {"type": "list(string)", "default": ["a"]},
    "sizes": {"type": "object({ disk = number })", "default": {"disk": "4"}},
    "broken": {"type": "list(strin)", "default": []}
  }
}
"#;
    let test = Test::new().write("t.pkr.json", template);
    let out = build(&test, &["validate", "t.pkr.json"], 1);
    assert!(
        out.stderr
            .contains("error: `strin` is not a type\n --> t.pkr.json:6:24"),
        "{}",
        out.stderr
    );
    // Typed, the defaults are converted: a number from "4", a set without the repeated "b".
    let fixed = template.replace(
        r#""list(strin)", "default": []"#,
        r#""set(string)", "default": ["b", "a", "b"]"#,
    );
    let out = Test::new()
        .write("t.pkr.json", fixed)
        .args(["console", "t.pkr.json"])
        .stdin("var.count + var.sizes.disk\nvar.names[0]\nvar.broken\n")
        .run();
    assert_eq!(out.stdout, "7\na\n[\n  \"a\",\n  \"b\",\n]\n");
}

/// `kiln inspect | head -1`, a closed terminal: what cannot be written is dropped, never a
/// panic, and the command ends as it would have.
#[test]
fn output_to_a_closed_pipe_is_dropped_without_a_crash() {
    let test = Test::new()
        .write("t.pkr.hcl", "source \"null\" \"a\" {\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.a\"]\n}\n")
        .write("bad.pkr.hcl", "locals {\n  a = \n}\n");
    for (args, status) in [
        (vec!["inspect", "t.pkr.hcl"], 0),
        (vec!["build", "t.pkr.hcl"], 0),
        (vec!["validate", "bad.pkr.hcl"], 1),
        (vec!["fmt", "-check", "bad.pkr.hcl"], 1),
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = Command::new(kiln_bin())
            .args(&args)
            .current_dir(test.dir())
            .env("KILN_HOME", test.dir().join(".kiln"))
            .stdout(Stdio::from(writer.try_clone().expect("a second end")))
            .stderr(Stdio::from(writer))
            .status()
            .expect("kiln runs");
        assert_eq!(out.code(), Some(status), "kiln {args:?}");
    }
}
