//! Loading templates: variables and their precedence, validation, locals, blocks, and the
//! `validate`, `inspect` and `console` commands.

use crate::test::{shared_dir, with_snapshots, Test};

const SECRET: &str = "Hunter2-correct-horse";

#[test]
fn broken_template_diagnostics() {
    with_snapshots(|| {
        insta::glob!("fixtures/config/errors/*.pkr.hcl", |path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let out = Test::new()
                .write(&name, std::fs::read(path).expect("fixture"))
                .args(["validate", &name])
                .status(1)
                .run();
            assert!(
                !out.stderr.contains(SECRET),
                "{name} leaked a secret:\n{}",
                out.stderr
            );
            assert!(
                out.stderr.contains(&format!("--> {name}:")),
                "{name}: diagnostics point into the file"
            );
            insta::assert_snapshot!(out.stderr);
        });
    });
}

/// One error in a minified `.pkr.json` (a 20 KB line) shows the part of the line around it, not
/// the whole line.
#[test]
fn an_error_on_a_long_line_shows_the_line_cut_around_it() {
    let variables: Vec<String> = (0..600)
        .map(|i| format!(r#""v{i:03}":{{"default":"{}"}}"#, "x".repeat(12)))
        .collect();
    let template = format!(
        r#"{{"variable":{{{}}},"source":{{"null":{{"a":{{"communicator":"none","comunicator_port":22}}}}}},"build":[{{"sources":["source.null.a"]}}]}}"#,
        variables.join(",")
    );
    assert!(template.len() > 20_000 && !template.contains('\n'));
    let out = Test::new()
        .write("min.pkr.json", &template)
        .args(["validate", "min.pkr.json"])
        .status(1)
        .run();
    assert!(out.stderr.len() < 1_000, "{} bytes", out.stderr.len());
    with_snapshots(|| insta::assert_snapshot!(out.stderr));
}

#[test]
fn the_seed_template_validates() {
    let seed = std::fs::read_to_string(shared_dir().join("seed-template.pkr.hcl")).expect("seed");
    Test::new()
        .write("seed.pkr.hcl", seed)
        .args(["validate", "seed.pkr.hcl"])
        .stdout("The configuration is valid.\n")
        .run();
}

const PRECEDENCE: &str = r#"
variable "v" {
  type    = string
  default = "default"
}

variable "n" {
  type    = number
  default = 1
}

variable "l" {
  type    = list(string)
  default = []
}
"#;

fn precedence() -> Test {
    Test::new().write("t/vars.pkr.hcl", PRECEDENCE)
}

/// `kiln console ARGS...` evaluating one expression; what it printed.
fn console(test: Test, args: &[&str], expr: &str) -> String {
    test.arg("console")
        .args(args.iter().copied())
        .stdin(format!("{expr}\n"))
        .run()
        .stdout
}

#[test]
fn variable_values_follow_packers_precedence() {
    assert_eq!(console(precedence(), &["t"], "var.v"), "default\n");
    assert_eq!(
        console(precedence().env("PKR_VAR_v", "env"), &["t"], "var.v"),
        "env\n"
    );
    let with_auto = || {
        precedence()
            .env("PKR_VAR_v", "env")
            .write("t/b.auto.pkrvars.hcl", "v = \"auto-b\"\n")
            .write("t/a.auto.pkrvars.hcl", "v = \"auto-a\"\n")
    };
    // Auto files are read in name order, the later one winning, and beat the environment.
    assert_eq!(console(with_auto(), &["t"], "var.v"), "auto-b\n");
    let with_file = || with_auto().write("x.pkrvars.hcl", "v = \"file\"\n");
    assert_eq!(
        console(with_file(), &["-var-file=x.pkrvars.hcl", "t"], "var.v"),
        "file\n"
    );
    // -var and -var-file apply in command-line order.
    assert_eq!(
        console(
            with_file(),
            &["-var-file=x.pkrvars.hcl", "-var", "v=flag", "t"],
            "var.v"
        ),
        "flag\n"
    );
    assert_eq!(
        console(
            with_file(),
            &["-var", "v=flag", "-var-file", "x.pkrvars.hcl", "t"],
            "var.v"
        ),
        "file\n"
    );
    assert_eq!(
        console(
            with_file(),
            &["--var-file=x.pkrvars.hcl", "--var=v=flag2", "t"],
            "var.v"
        ),
        "flag2\n"
    );
}

#[test]
fn variable_values_from_text_are_typed() {
    assert_eq!(
        console(precedence().env("PKR_VAR_n", "42"), &["t"], "var.n + 1"),
        "43\n"
    );
    assert_eq!(
        console(precedence(), &["-var", "l=[\"a\", \"b\"]", "t"], "var.l[1]"),
        "b\n"
    );
    let json = precedence().write("v.pkrvars.json", "{\"v\": \"from-json\", \"n\": 7}");
    assert_eq!(
        console(
            json,
            &["-var-file=v.pkrvars.json", "t"],
            "\"${var.v}-${var.n}\""
        ),
        "from-json-7\n"
    );
    precedence()
        .args(["validate", "-var", "n=lots", "t"])
        .status(1)
        .stderr_contains("invalid value for the variable `n`")
        .stderr_contains("--> -var:1:3")
        .run();
}

#[test]
fn undeclared_variables_fail_on_the_command_line_and_warn_in_files() {
    precedence()
        .args(["validate", "-var", "vv=1", "t"])
        .status(1)
        .stderr_contains("the variable `vv` is not declared")
        .stderr_contains("did you mean `v`?")
        .run();
    precedence()
        .write("x.pkrvars.hcl", "extra = 1\n")
        .write("t/s.pkr.hcl", "source \"null\" \"a\" {\n  communicator = \"none\"\n}\nbuild {\n  sources = [\"null.a\"]\n}\n")
        .args(["validate", "-var-file=x.pkrvars.hcl", "t"])
        .stderr_contains("warning: the variable `extra` is not declared")
        .stdout("The configuration is valid.\n")
        .run();
}

#[test]
fn sensitive_values_never_print() {
    let t = || {
        Test::new().write(
            "s.pkr.hcl",
            format!(
                "variable \"password\" {{\n  default   = \"{SECRET}\"\n  sensitive = true\n}}\nlocals {{\n  derived = upper(var.password)\n  holder  = {{ p = var.password, other = \"visible\" }}\n}}\n"
            ),
        )
    };
    let out = t().args(["inspect", "s.pkr.hcl"]).run();
    assert!(
        !out.stdout.contains(SECRET) && !out.stdout.to_uppercase().contains(&SECRET.to_uppercase())
    );
    assert!(
        out.stdout.contains("var.password: \"<sensitive>\""),
        "{}",
        out.stdout
    );
    let out = t()
        .args(["console", "s.pkr.hcl"])
        .stdin("var.password\nlocal.derived\nlocal.holder\nlocal.holder.other\n[var.password]\nvar.password + 1\n")
        .run();
    assert_eq!(
        out.stdout,
        "<sensitive>\n<sensitive>\n{\n  \"other\" = \"visible\"\n  \"p\" = \"<sensitive>\"\n}\nvisible\n[\n  \"<sensitive>\",\n]\n"
    );
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
}

#[test]
fn console_reports_a_bad_line_and_goes_on() {
    let out = Test::new()
        .arg("console")
        .stdin("1 + 2\nnope(1)\n\"a\" +\n[1, 2][5]\nupper(\"ok\")\n")
        .run();
    assert_eq!(out.stdout, "3\nOK\n");
    assert!(
        out.stderr.contains("there is no function named `nope`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("index 5 is out of range"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("error:").count(), 3, "{}", out.stderr);
}

#[test]
fn inspect_lists_what_a_template_declares() {
    with_snapshots(|| {
        let out = Test::new()
            .write(
                "t.pkr.hcl",
                r#"
variable "secret" {
  type      = string
  default   = "hunter2"
  sensitive = true
}
variable "n" {
  default = 3
}
variable "zones" {
  default = ["a", "b"]
}
locals { x = "a-${var.n}" }
source "null" "a" { communicator = "none" }
source "file" "b" {
  content = "x"
  target  = "out.txt"
}
build {
  name    = "b1"
  sources = ["source.null.a", "file.b"]
  provisioner "shell-local" { inline = ["echo hi"] }
  post-processor "manifest" {}
  post-processors {
    post-processor "checksum" { checksum_types = ["md5"] }
    post-processor "manifest" {}
  }
}
build {
  sources = ["null.a"]
}
"#,
            )
            .args(["inspect", "t.pkr.hcl"])
            .run();
        insta::assert_snapshot!("inspect_packer_example", out.stdout);
        let seed =
            std::fs::read_to_string(shared_dir().join("seed-template.pkr.hcl")).expect("seed");
        let out = Test::new()
            .write("seed.pkr.hcl", seed)
            .args(["inspect", "seed.pkr.hcl"])
            .run();
        insta::assert_snapshot!("inspect_seed", out.stdout);
    });
}

#[test]
fn locals_and_data_sources_evaluate_in_dependency_order() {
    let out = Test::new()
        .write(
            "t.pkr.hcl",
            r#"
locals {
  c = "${local.b}-c"
  a = "a"
}
local "b" {
  expression = "${local.a}-b-${data.amazon-ami.base.id}"
}
data "amazon-ami" "base" {
  filters = {
    name = "ubuntu-${local.a}"
  }
  owners      = ["099720109477"]
  most_recent = true
  region      = "us-east-1"
}
"#,
        )
        .args(["console", "t.pkr.hcl"])
        .stdin("local.a\nlocal.b\nlocal.c\n")
        .run();
    // Data sources run at build time: what depends on them is unknown until then.
    assert_eq!(out.stdout, "a\n<unknown>\n<unknown>\n");
}

#[test]
fn dynamic_steps_and_computed_sources_load() {
    with_snapshots(|| {
        let out = Test::new()
            .write(
                "t.pkr.hcl",
                r#"
variable "extra" {
  default = [{ msg = "one" }, { msg = "two" }]
}
locals {
  use_file = true
}
source "null" "a" {
  communicator = "none"
}
source "file" "b" {
  content = "x"
  target  = "out.txt"
}
build {
  sources = local.use_file ? ["source.file.b"] : ["source.null.a"]

  dynamic "provisioner" {
    labels   = ["shell-local"]
    for_each = var.extra
    content {
      inline = ["echo ${provisioner.value.msg}"]
    }
  }
}
"#,
            )
            .args(["inspect", "t.pkr.hcl"])
            .run();
        insta::assert_snapshot!("inspect_dynamic_steps", out.stdout);
    });
    Test::new()
        .write(
            "bad.pkr.hcl",
            "source \"null\" \"a\" {\n  communicator = \"none\"\n}\nbuild {\n  sources = [\"null.a\"]\n  dynamic \"provisioner\" {\n    labels   = [\"shell-local\"]\n    for_each = [1]\n    content {\n      inline = [\"echo ${provisioner.value.nope}\"]\n    }\n  }\n}\n",
        )
        .args(["validate", "bad.pkr.hcl"])
        .status(1)
        .stderr_contains("cannot read `.nope` of a number")
        .run();
}

#[test]
fn the_seed_ami_name_expands_its_legacy_timestamp() {
    let seed = std::fs::read_to_string(shared_dir().join("seed-template.pkr.hcl")).expect("seed");
    let out = Test::new()
        .write("seed.pkr.hcl", seed)
        .args(["build", "-dry-run", "seed.pkr.hcl"])
        .run();
    let expanded = regex::Regex::new(r#"ami_name += "my-custom-ami-(\d{10})""#).expect("regex");
    let stamp: i64 = expanded
        .captures(&out.stdout)
        .unwrap_or_else(|| panic!("no expanded ami_name in:\n{}", out.stdout))[1]
        .parse()
        .expect("a number");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!(
        (now - stamp).abs() < 600,
        "{{{{timestamp}}}} is the run's time: {stamp} vs {now}"
    );
    assert!(!out.stdout.contains("{{timestamp}}"), "{}", out.stdout);
}
