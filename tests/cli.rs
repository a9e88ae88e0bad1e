//! kiln in place of `packer` in a CI script: the commands, flags, exit codes and
//! machine-readable lines scripts depend on.

use crate::test::Test;

const TEMPLATE: &str = r#"packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.2.8"
    }
  }
}

variable "greeting" {
  type    = string
  default = "hello"
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo ${var.greeting}, world"]
  }
}
"#;

/// `timestamp,target,type,data...` with Packer's escaping: no raw newline inside a line.
fn assert_machine_readable(what: &str, stdout: &str) -> Vec<Vec<String>> {
    assert!(!stdout.is_empty(), "{what} printed nothing");
    stdout
        .lines()
        .map(|line| {
            let fields: Vec<String> = line.split(',').map(str::to_string).collect();
            assert!(
                fields.len() >= 3
                    && fields[0].len() >= 10
                    && fields[0].bytes().all(|b| b.is_ascii_digit())
                    && !fields[2].is_empty(),
                "{what}: not a machine-readable line: {line:?}"
            );
            fields
        })
        .collect()
}

#[test]
fn a_ci_script_runs_unchanged_with_kiln_in_place_of_packer() {
    let test = Test::new().write("t.pkr.hcl", TEMPLATE);
    let init = test.run_unchecked_with(&["init", "."]);
    assert_eq!(init.status, 0, "{}{}", init.stdout, init.stderr);
    assert!(
        init.stdout.contains(
            "amazon github.com/hashicorp/amazon >= 1.2.8: built into kiln (amazon-ebs, amazon-ami)"
        ),
        "{}",
        init.stdout
    );

    let validate = test.run_unchecked_with(&["validate", "-machine-readable", "."]);
    assert_eq!(validate.status, 0, "{}", validate.stderr);
    let lines = assert_machine_readable("validate", &validate.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0][1..],
        ["", "ui", "say", "The configuration is valid."]
    );

    let build = test.run_unchecked_with(&[
        "build",
        "-timestamp-ui=true",
        "-machine-readable",
        "-color=false",
        ".",
    ]);
    assert_eq!(build.status, 0, "{}", build.stderr);
    let lines = assert_machine_readable("build", &build.stdout);
    assert!(
        lines.iter().any(|l| l[2] == "ui"
            && l.last()
                .is_some_and(|d| d.ends_with("null.a: hello%!(PACKER_COMMA) world"))),
        "the provisioner's line, its comma escaped:\n{}",
        build.stdout
    );

    let version = test.run_unchecked_with(&["version", "-machine-readable"]);
    assert_eq!(version.status, 0);
    let lines = assert_machine_readable("version", &version.stdout);
    let kinds: Vec<&str> = lines.iter().map(|l| l[2].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "version",
            "version-prelease",
            "version-commit",
            "kiln-version",
            "ui",
            "ui"
        ]
    );
    assert_eq!(lines[0][3], "1.15.0");
    let plain = test.run_unchecked_with(&["version"]);
    assert_eq!(
        plain.stdout,
        format!("Packer v1.15.0\nkiln v{}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `inspect` says its three sections as three `ui,say` messages and `console` each value as a
/// `ui,message`, as Packer 1.6.6 does.
#[test]
fn inspect_and_console_speak_machine_readable_as_packer_does() {
    let test = Test::new().write("t.pkr.hcl", TEMPLATE);
    let inspect = test.run_unchecked_with(&["inspect", "-machine-readable", "t.pkr.hcl"]);
    assert_eq!(inspect.status, 0, "{}", inspect.stderr);
    let lines = assert_machine_readable("inspect", &inspect.stdout);
    let said: Vec<String> = lines.iter().map(|l| l[3..].join(",")).collect();
    assert_eq!(
        said,
        [
            "say,Packer Inspect: HCL2 mode\\n",
            "say,> input-variables:\\n\\nvar.greeting: \"hello\"\\n\\n> local-variables:\\n\\n",
            "say,> builds:\\n\\n  > <unnamed build 0>:\\n\\n    sources:\\n\\n      null.a\\n\\n    provisioners:\\n\\n      shell-local\\n\\n    post-processors:\\n\\n      <no post-processor>\\n",
        ]
    );
    // Without the flag, the same text as one listing.
    let plain = test.run_unchecked_with(&["inspect", "t.pkr.hcl"]);
    assert!(plain
        .stdout
        .starts_with("Packer Inspect: HCL2 mode\n\n> input-variables:\n"));
    assert!(plain.stdout.ends_with("<no post-processor>\n\n"));

    let console = Test::new()
        .write("t.pkr.hcl", TEMPLATE)
        .args(["console", "-machine-readable", "t.pkr.hcl"])
        .stdin("var.greeting\n\"a,b\"\n")
        .run();
    let lines = assert_machine_readable("console", &console.stdout);
    let said: Vec<String> = lines.iter().map(|l| l[2..].join(",")).collect();
    assert_eq!(said, ["ui,message,hello", "ui,message,a%!(PACKER_COMMA)b"]);
}

#[test]
fn init_names_a_plugin_kiln_lacks_and_fails() {
    let template = TEMPLATE.replace(
        "  }\n}\n\nvariable",
        "    docker = {\n      source  = \"github.com/hashicorp/docker\"\n      version = \">= 1\"\n    }\n  }\n}\n\nvariable",
    );
    let test = Test::new().write("t.pkr.hcl", template);
    let init = test.run_unchecked_with(&["init", "."]);
    assert_eq!(init.status, 1, "{}", init.stdout);
    assert!(
        init.stdout.contains("amazon github.com/hashicorp/amazon"),
        "{}",
        init.stdout
    );
    assert!(
        init.stderr.contains(
            "error: docker github.com/hashicorp/docker >= 1: kiln has no built-in plugin from this source"
        ),
        "{}",
        init.stderr
    );
    let required = test.run_unchecked_with(&["plugins", "required", "."]);
    assert_eq!(required.status, 1);
    assert!(
        required
            .stdout
            .contains("docker github.com/hashicorp/docker >= 1 (missing: "),
        "{}",
        required.stdout
    );
    let installed = test.run_unchecked_with(&["plugins", "installed"]);
    assert_eq!(installed.status, 0);
    assert!(
        installed
            .stdout
            .starts_with("github.com/hashicorp/amazon (built in: amazon-ebs"),
        "{}",
        installed.stdout
    );
    // Nothing required: Packer's message, and success.
    let bare = Test::new().write(
        "t.pkr.hcl",
        "source \"null\" \"a\" {\n  communicator = \"none\"\n}\n",
    );
    let init = bare.run_unchecked_with(&["init", "."]);
    assert_eq!(init.status, 0);
    assert!(
        init.stdout.starts_with("No plugins requirement found"),
        "{}",
        init.stdout
    );
}

/// Every boolean flag of every command, read from the commands' own help, in Go's three
/// spellings; a value that is not a boolean is refused naming the flag with one dash.
#[test]
fn every_boolean_flag_takes_all_three_spellings() {
    let test = Test::new();
    let commands: &[&[&str]] = &[
        &["build"],
        &["validate"],
        &["fmt"],
        &["inspect"],
        &["console"],
        &["graph"],
        &["init"],
        &["version"],
        &["cleanup"],
    ];
    let mut seen = 0;
    for command in commands {
        let mut args: Vec<&str> = command.to_vec();
        args.push("-help");
        let help = test.run_unchecked_with(&args);
        assert_eq!(help.status, 0, "{args:?}: {}", help.stderr);
        assert!(
            !help.stdout.contains(" --"),
            "{args:?} names a flag with two dashes:\n{}",
            help.stdout
        );
        let flags: Vec<&str> = help
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|f| f.strip_suffix("[=<BOOL>]"))
            .collect();
        assert!(flags.contains(&"-machine-readable"), "{args:?}: {flags:?}");
        for flag in flags {
            seen += 1;
            for spelling in [
                flag.to_string(),
                format!("{flag}=true"),
                format!("{flag}=false"),
            ] {
                let mut args: Vec<&str> = command.to_vec();
                args.extend([spelling.as_str(), "-help"]);
                let out = test.run_unchecked_with(&args);
                assert_eq!(out.status, 0, "{args:?}: {}", out.stderr);
            }
            let bad = format!("{flag}=maybe");
            let mut args: Vec<&str> = command.to_vec();
            args.push(&bad);
            let out = test.run_unchecked_with(&args);
            assert_eq!(out.status, 1, "{args:?}");
            assert!(
                out.stderr
                    .contains(&format!("invalid value 'maybe' for '{flag}[=<BOOL>]'")),
                "{args:?}: {}",
                out.stderr
            );
        }
    }
    assert!(seen >= 15, "only {seen} boolean flags found");
}

#[test]
fn flags_commands_and_exit_codes_as_packer_has_them() {
    let test = Test::new().write("t.pkr.hcl", TEMPLATE);
    let unknown = test.run_unchecked_with(&["build", "-debg", "."]);
    assert_eq!(unknown.status, 1);
    assert!(
        unknown
            .stderr
            .starts_with("error: flag provided but not defined: -debg\n"),
        "{}",
        unknown.stderr
    );
    assert!(!unknown.stderr.contains("--"), "{}", unknown.stderr);
    let near = test.run_unchecked_with(&["build", "-onyl=x", "."]);
    assert!(
        near.stderr.contains("tip: did you mean '-only'?"),
        "{}",
        near.stderr
    );
    assert_eq!(test.run_unchecked_with(&["nosuch"]).status, 127);
    assert_eq!(test.run_unchecked_with(&[]).status, 127);
    // -only matching nothing builds nothing and succeeds, as in Packer, with a warning.
    let nothing = test.run_unchecked_with(&["build", "-only=nomatch", "-color=false", "."]);
    assert_eq!(nothing.status, 0, "{}", nothing.stderr);
    assert!(nothing
        .stderr
        .contains("warning: -only `nomatch` matches no build"));
    assert!(nothing
        .stdout
        .contains("Builds finished but no artifacts were created."));
    let validate = test.run_unchecked_with(&["validate", "-only=nomatch", "."]);
    assert_eq!(validate.status, 0, "{}", validate.stderr);
    assert!(validate.stderr.contains("matches no build"));
}

#[test]
fn undeclared_variables_in_files_warn_where_packer_warns() {
    let test = Test::new()
        .write("t.pkr.hcl", TEMPLATE)
        .write("x.pkrvars.hcl", "greetng = \"hi\"\n");
    let warned = "warning: the variable `greetng` is not declared in the template";
    let validate = test.run_unchecked_with(&["validate", "-var-file=x.pkrvars.hcl", "."]);
    assert!(validate.stderr.contains(warned), "{}", validate.stderr);
    let quiet = test.run_unchecked_with(&[
        "validate",
        "-no-warn-undeclared-var",
        "-var-file=x.pkrvars.hcl",
        ".",
    ]);
    assert_eq!(quiet.stderr, "");
    let build = test.run_unchecked_with(&["build", "-var-file=x.pkrvars.hcl", "."]);
    assert!(!build.stderr.contains(warned), "{}", build.stderr);
    let build = test.run_unchecked_with(&[
        "build",
        "-warn-on-undeclared-var",
        "-var-file=x.pkrvars.hcl",
        ".",
    ]);
    assert!(build.stderr.contains(warned), "{}", build.stderr);
}

#[test]
fn a_legacy_json_template_is_named_as_one() {
    let legacy = r#"{
  "variables": {"region": "us-east-1"},
  "builders": [{"type": "null", "communicator": "none"}]
}
"#;
    for (file, command) in [
        ("template.json", "validate"),
        ("t.pkr.json", "build"),
        ("t.pkr.json", "init"),
    ] {
        let out = Test::new()
            .write(file, legacy)
            .args([command, file])
            .run_unchecked();
        assert_eq!(out.status, 1, "{command} {file}");
        assert!(
            out.stderr.starts_with(&format!(
                "error: this is a legacy JSON template (it has `builders`); kiln reads HCL2 templates, `*.pkr.hcl` and `*.pkr.json`\n --> {file}:3:3\n"
            )),
            "{command} {file}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("packer hcl2_upgrade"), "{}", out.stderr);
        assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
    }
}

#[test]
fn completions_load_in_bash_and_the_manual_renders() {
    let test = Test::new();
    let completions = test.run_unchecked_with(&["completions", "bash"]);
    assert_eq!(completions.status, 0, "{}", completions.stderr);
    assert!(
        completions.stdout.contains("validate"),
        "{}",
        completions.stdout
    );
    let script = test.dir().join("kiln.bash");
    std::fs::write(&script, &completions.stdout).expect("written");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for page in [vec!["man"], vec!["man", "build"]] {
        let roff = test.run_unchecked_with(&page);
        assert_eq!(roff.status, 0, "{}", roff.stderr);
        let file = test.dir().join("kiln.1");
        std::fs::write(&file, &roff.stdout).expect("written");
        let shown = std::process::Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .expect("man runs (apt-get install man-db)");
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.status.success(),
            "{page:?}: {}",
            String::from_utf8_lossy(&shown.stderr)
        );
        assert!(
            text.contains("NAME") && text.contains("-help"),
            "{page:?}: {text}"
        );
        assert!(
            !text.contains("--"),
            "{page:?} names a flag with two dashes: {text}"
        );
    }
}

/// `PACKER_LOG=1` tells why SSH is not up yet, attempt by attempt, with no secret in it;
/// `PACKER_LOG_PATH` sends the same to a file.
#[test]
fn packer_log_shows_ssh_retries_and_hides_secrets() {
    let secret = "log-s3cr3t-pw";
    let template = format!(
        r#"variable "password" {{
  type      = string
  default   = "{secret}"
  sensitive = true
}}

source "null" "a" {{
  ssh_host     = "127.0.0.1"
  ssh_port     = 1
  ssh_username = "kiln"
  ssh_password = var.password
  ssh_timeout  = "2s"
}}

build {{
  sources = ["source.null.a"]

  provisioner "shell" {{
    inline = ["echo ${{var.password}}"]
  }}
}}
"#
    );
    let test = Test::new().write("t.pkr.hcl", template);
    let quiet = test.run_unchecked_with(&["build", "-color=false", "."]);
    assert_eq!(quiet.status, 1);
    assert!(
        !quiet.stderr.contains("DEBUG"),
        "no log unless asked: {}",
        quiet.stderr
    );

    let logged = Test::new()
        .write(
            "t.pkr.hcl",
            std::fs::read_to_string(test.dir().join("t.pkr.hcl")).unwrap(),
        )
        .env("PACKER_LOG", "1")
        .args(["build", "-color=false", "."])
        .run_unchecked();
    assert_eq!(logged.status, 1);
    let retries = logged
        .stderr
        .lines()
        .filter(|l| {
            l.contains("DEBUG kiln::plugins::remote::ssh: SSH connection attempt failed address=127.0.0.1:1")
                && l.contains("reason=Connection refused")
        })
        .count();
    assert!(retries >= 2, "attempts are logged: {}", logged.stderr);
    assert!(
        logged.stderr.contains("step started step=null.a/launch"),
        "{}",
        logged.stderr
    );
    assert!(
        logged
            .stderr
            .contains("plugin config checked kind=\"provisioner\"")
            || logged
                .stderr
                .contains("plugin config checked kind=provisioner"),
        "{}",
        logged.stderr
    );
    assert!(!logged.stderr.contains(secret), "{}", logged.stderr);
    assert!(!logged.stdout.contains(secret));

    let to_file = Test::new().write(
        "t.pkr.hcl",
        std::fs::read_to_string(test.dir().join("t.pkr.hcl")).unwrap(),
    );
    let path = to_file.dir().join("packer.log");
    let to_file = to_file
        .env("PACKER_LOG", "1")
        .env("PACKER_LOG_PATH", path.display().to_string())
        .args(["build", "-color=false", "."]);
    let out = to_file.run_unchecked();
    assert!(!out.stderr.contains("DEBUG"), "{}", out.stderr);
    let log = std::fs::read_to_string(&path).expect("the log file");
    assert!(log.contains("SSH connection attempt failed"), "{log}");
    assert!(!log.contains(secret));
}
