#!/usr/bin/env bash
# Record what a real local `packer build` (Packer 1.6.6, HCL2 templates) does, so that kiln's
# `build` can be checked against it: manifest and checksum files, human and machine-readable
# output, exit codes, and what a shell-local script sees (environment, script file, command line).
#
# Output, under tests/fixtures/build/ (see tests/fixtures/build/README.md for every file):
#   manifest/    two `manifest` post-processors (plain + strip_path) over null + file sources;
#                manifests after run 1, run 2 (appended) and run 3 (-force); defaults/ for a
#                manifest without output (packer-manifest.json), strip_time, custom_data escaping
#   checksum/    `checksum` post-processors: every checksum type with the default output name, a
#                custom output template, a file shared by all builds, a checksum -> manifest chain
#   output/      stdout/stderr/exit code of the manifest build with -color=false, default colour,
#                -machine-readable and -timestamp-ui; a failing build likewise
#   build-vars/  PACKER_* environment, inline script and execute_command of shell-local;
#                ${build.*} in HCL; legacy {{ build `ID` }}, {{ build_name }}; an unknown attribute
# Each case directory has a cmd.txt: for every packer run, its label, exit code, working directory
# and command line. Captures are stored raw (no normalisation): timestamps, UUIDs, durations,
# /tmp/packer-shell* names and the order of lines from parallel builds vary from run to run.
#
# Re-runnable: it deletes and rewrites the four case directories (README.md is left alone).
# Every packer run happens in a fresh directory under a temp dir, removed on exit.
# Usage: scripts/capture-build.sh            (PACKER=/path/to/packer to use another binary)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$repo/tests/fixtures/build"
packer="${PACKER:-/usr/bin/packer}"

command -v "$packer" >/dev/null || { echo "capture-build: $packer not found" >&2; exit 1; }
version="$("$packer" version | head -n1)"
echo "capture-build: using $version"

# Packer phones home for version checks unless told not to; keep logging off so that stderr is
# only what a user would see; a fixed umask so that file modes in listings are reproducible.
export CHECKPOINT_DISABLE=1
unset PACKER_LOG PACKER_LOG_PATH PACKER_NO_COLOR PACKER_CACHE_DIR TMPDIR || true
umask 022

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

mkdir -p "$out"
for c in manifest checksum output build-vars; do rm -rf "${out:?}/$c"; mkdir -p "$out/$c"; done

# run CASE LABEL WORKDIR ARGS... : run packer in WORKDIR, store LABEL.stdout / LABEL.stderr in the
# case directory, append a line to its cmd.txt, never stop on packer's exit code.
run() {
    local case="$1" label="$2" dir="$3"; shift 3
    local rc=0
    (cd "$dir" && "$packer" "$@") >"$out/$case/$label.stdout" 2>"$out/$case/$label.stderr" || rc=$?
    printf '%s\texit=%s\tcwd=%s\t$ packer %s\n' "$label" "$rc" "${dir#"$scratch"/}" "$*" >>"$out/$case/cmd.txt"
    echo "  $case/$label: exit $rc"
}

cmd_header() {
    {
        echo "# $version, CHECKPOINT_DISABLE=1, umask 022; cwd is relative to a fresh temp dir."
        echo "# label<TAB>exit=<packer exit code><TAB>cwd=<dir packer ran in><TAB>\$ packer <args>"
        echo "# label.stdout / label.stderr in this directory are that run's raw output."
    } >"$out/$1/cmd.txt"
}

# listing DIR : every file under DIR except the templates and inputs: mode, size, path; sorted.
listing() {
    (cd "$1" && find . -type f ! -name '*.pkr.hcl' ! -path './in/*' ! -name 'c-input.txt' \
        -printf '%m\t%s\t%P\n' | LC_ALL=C sort -t$'\t' -k3)
}

# ---------------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------------
write_manifest_template() {
    mkdir -p "$1"
    printf 'input for source.file.c\n' >"$1/c-input.txt"
    cat >"$1/build.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

source "file" "b" {
  content = "hello\n"
  target  = "b.txt"
}

source "file" "c" {
  source = "c-input.txt"
  target = "out/c.txt"
}

build {
  sources = ["source.null.a", "source.file.b", "source.file.c"]

  provisioner "shell-local" {
    inline = ["echo provisioning ${source.name}"]
  }

  post-processor "manifest" {
    output      = "manifest.json"
    custom_data = { team = "platform" }
  }

  post-processor "manifest" {
    output     = "stripped.json"
    strip_path = true
  }
}
EOF
}

echo "case manifest"
cmd_header manifest
d="$scratch/manifest"
write_manifest_template "$d"
cp "$d/build.pkr.hcl" "$d/c-input.txt" "$out/manifest/"
run manifest run1 "$d" build -color=false build.pkr.hcl
cp "$d/manifest.json" "$out/manifest/manifest.run1.json"
cp "$d/stripped.json" "$out/manifest/stripped.run1.json"
run manifest run2 "$d" build -color=false build.pkr.hcl
cp "$d/manifest.json" "$out/manifest/manifest.json"
cp "$d/stripped.json" "$out/manifest/stripped.json"
run manifest run3-force "$d" build -color=false -force build.pkr.hcl
cp "$d/manifest.json" "$out/manifest/manifest.force.json"
cp "$d/stripped.json" "$out/manifest/stripped.force.json"
listing "$d" >"$out/manifest/files.txt"

# A manifest without `output` (default file name), with strip_time and custom_data that shows key
# order and string escaping, over one null and one file source.
d="$scratch/manifest-defaults"
mkdir -p "$d" "$out/manifest/defaults"
cat >"$d/build.pkr.hcl" <<'EOF'
source "null" "n" {
  communicator = "none"
}

source "file" "f" {
  content = "x"
  target  = "dir/f.txt"
}

build {
  name    = "defaults"
  sources = ["source.null.n", "source.file.f"]

  post-processor "manifest" {
    strip_time = true
    # Key order in the output (Go sorts map keys) and JSON string escaping (Go escapes <, >, &).
    custom_data = {
      zeta    = "last"
      alpha   = "first"
      html    = "<a href=\"x\">&</a>"
      unicode = "h\u00e9llo \u2603"
      tab     = "a\tb"
    }
  }
}
EOF
cp "$d/build.pkr.hcl" "$out/manifest/defaults/"
printf '%s\n' "# defaults/: $version" >"$out/manifest/defaults/cmd.txt"
rc=0
(cd "$d" && "$packer" build -color=false build.pkr.hcl) >"$out/manifest/defaults/run.stdout" \
    2>"$out/manifest/defaults/run.stderr" || rc=$?
printf 'run\texit=%s\tcwd=manifest-defaults\t$ packer build -color=false build.pkr.hcl\n' "$rc" \
    >>"$out/manifest/defaults/cmd.txt"
echo "  manifest/defaults/run: exit $rc"
cp "$d/packer-manifest.json" "$out/manifest/defaults/"
listing "$d" >"$out/manifest/defaults/files.txt"

# ---------------------------------------------------------------------------------------------
# checksum
# ---------------------------------------------------------------------------------------------
write_checksum_template() {
    mkdir -p "$1/in"
    printf 'payload\n' >"$1/in/data.bin"
    cat >"$1/build.pkr.hcl" <<'EOF'
source "file" "b" {
  content = "hello\n"
  target  = "b.txt"
}

source "file" "c" {
  source = "in/data.bin"
  target = "out/c.bin"
}

build {
  sources = ["source.file.b", "source.file.c"]

  # Default output: packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum
  post-processor "checksum" {
    checksum_types = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
  }

  post-processor "checksum" {
    checksum_types = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
    output         = "sums/{{.BuildName}}_{{.ChecksumType}}.sum"
  }

  # One file per type shared by both builds: they append to it (in completion order).
  post-processor "checksum" {
    checksum_types = ["sha256"]
    output         = "all_{{.ChecksumType}}.sum"
  }

  # A chain: the checksum artifact (source files + new checksum files) goes on to the manifest.
  post-processors {
    post-processor "checksum" {
      checksum_types = ["sha1"]
      output         = "chain/{{.BuildName}}.{{.ChecksumType}}"
    }
    post-processor "manifest" {
      output = "chain-manifest.json"
    }
  }
}
EOF
}

echo "case checksum"
cmd_header checksum
d="$scratch/checksum"
write_checksum_template "$d"
cp "$d/build.pkr.hcl" "$out/checksum/"
mkdir -p "$out/checksum/in" && cp "$d/in/data.bin" "$out/checksum/in/"
run checksum run1 "$d" build -color=false build.pkr.hcl
listing "$d" >"$out/checksum/files.txt"
mkdir -p "$out/checksum/produced"
(cd "$d" && find . -type f ! -name '*.pkr.hcl' ! -path './in/*' -printf '%P\0' |
    xargs -0 cp --parents -t "$out/checksum/produced/")
# Second run in the same directory: checksum files are appended to, never truncated.
run checksum run2 "$d" build -color=false build.pkr.hcl
listing "$d" >"$out/checksum/files.run2.txt"
mkdir -p "$out/checksum/produced.run2"
(cd "$d" && find . -type f ! -name '*.pkr.hcl' ! -path './in/*' -printf '%P\0' |
    xargs -0 cp --parents -t "$out/checksum/produced.run2/")
# Machine-readable, in a fresh directory (shows the checksum artifact's builder-id / files).
d="$scratch/checksum-mr"
write_checksum_template "$d"
run checksum machine-readable "$d" build -machine-readable build.pkr.hcl

# ---------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------
echo "case output"
cmd_header output
# The manifest template, each mode in a fresh copy (so every run is a first run).
cp "$scratch/manifest/build.pkr.hcl" "$out/output/ok.pkr.hcl"
for mode in color-false machine-readable timestamp-ui color-default; do
    d="$scratch/output-ok-$mode"
    write_manifest_template "$d"
    mv "$d/build.pkr.hcl" "$d/ok.pkr.hcl"
    case "$mode" in
        color-false) run output "ok.$mode" "$d" build -color=false ok.pkr.hcl ;;
        machine-readable) run output "ok.$mode" "$d" build -machine-readable ok.pkr.hcl ;;
        timestamp-ui) run output "ok.$mode" "$d" build -timestamp-ui -color=false ok.pkr.hcl ;;
        color-default) run output "ok.$mode" "$d" build ok.pkr.hcl ;;
    esac
done

write_fail_template() {
    mkdir -p "$1"
    cat >"$1/fail.pkr.hcl" <<'EOF'
source "null" "bad" {
  communicator = "none"
}

source "null" "good" {
  communicator = "none"
}

build {
  sources = ["source.null.bad", "source.null.good"]

  provisioner "shell-local" {
    only   = ["null.bad"]
    inline = ["echo about to fail in ${source.name}", "echo some stderr >&2", "exit 3"]
  }

  provisioner "shell-local" {
    only   = ["null.good"]
    inline = ["echo fine in ${source.name}"]
  }

  post-processor "manifest" {
    output = "manifest.json"
  }
}
EOF
}
d="$scratch/output-fail"
write_fail_template "$d"
cp "$d/fail.pkr.hcl" "$out/output/"
run output fail.color-false "$d" build -color=false fail.pkr.hcl
cp "$d/manifest.json" "$out/output/fail.manifest.json" 2>/dev/null || true
for mode in machine-readable timestamp-ui color-default; do
    d="$scratch/output-fail-$mode"
    write_fail_template "$d"
    case "$mode" in
        machine-readable) run output "fail.$mode" "$d" build -machine-readable fail.pkr.hcl ;;
        timestamp-ui) run output "fail.$mode" "$d" build -timestamp-ui -color=false fail.pkr.hcl ;;
        color-default) run output "fail.$mode" "$d" build fail.pkr.hcl ;;
    esac
done

# ---------------------------------------------------------------------------------------------
# build-vars
# ---------------------------------------------------------------------------------------------
echo "case build-vars"
cmd_header build-vars
d="$scratch/build-vars"
mkdir -p "$d"

# What a shell-local provisioner / post-processor sees. `name` on the build shows that
# PACKER_BUILD_NAME is the source name, not the "vars.null.a" prefix of the UI.
cat >"$d/env.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

build {
  name    = "vars"
  sources = ["source.null.a"]

  provisioner "shell-local" {
    environment_vars = ["FOO=it's", "BAR=x  y"]
    inline = [
      "env | grep ^PACKER_ | sort",
      "echo \"FOO=[$FOO] BAR=[$BAR]\"",
      "echo \"argv0=$0\"",
      "ls -l \"$0\"",
      "echo '--- script ($0):'",
      "cat \"$0\"",
      "echo '--- od -c of script:'",
      "od -c \"$0\"",
      "echo \"--- parent argv (NUL shown as |): $(tr '\\0' '|' < /proc/$PPID/cmdline)\"",
      "echo \"--- self argv (NUL shown as |): $(tr '\\0' '|' < /proc/$$/cmdline)\"",
      "echo \"pwd=$(pwd)\"",
      "echo a line on stderr >&2",
    ]
  }

  post-processor "shell-local" {
    inline = [
      "env | grep ^PACKER_ | sort",
      "echo \"--- parent argv (NUL shown as |): $(tr '\\0' '|' < /proc/$PPID/cmdline)\"",
    ]
  }
}
EOF

# Every key of the HCL `build` object.
cat >"$d/hcl-build.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = [
      "echo 'ID=${build.ID}'",
      "echo 'Host=${build.Host}'",
      "echo 'Port=${build.Port}'",
      "echo 'User=${build.User}'",
      "echo 'Password=${build.Password}'",
      "echo 'ConnType=${build.ConnType}'",
      "echo 'PackerRunUUID=${build.PackerRunUUID}'",
      "echo 'PackerHTTPAddr=${build.PackerHTTPAddr}'",
      "echo 'PackerHTTPIP=${build.PackerHTTPIP}'",
      "echo 'PackerHTTPPort=${build.PackerHTTPPort}'",
      "echo 'SSHPublicKey=${build.SSHPublicKey}'",
      "echo 'SSHPrivateKey=${build.SSHPrivateKey}'",
      "echo 'WinRMPassword=${build.WinRMPassword}'",
      "echo \"env PACKER_RUN_UUID=$PACKER_RUN_UUID\"",
    ]
  }
}
EOF

# An attribute the build object does not have.
cat >"$d/hcl-build-unknown.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo ${build.Nope}"]
  }
}
EOF

# Legacy Go-template `build` function inside an HCL2 template.
cat >"$d/legacy-build.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo ID={{ build `ID` }} PackerRunUUID={{ build `PackerRunUUID` }}"]
  }
}
EOF

# The same in a shell-local post-processor.
cat >"$d/legacy-build-pp.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  post-processor "shell-local" {
    inline = ["echo ID={{ build `ID` }}"]
  }
}
EOF

# Other legacy Go-template functions inside an HCL2 template.
cat >"$d/legacy-funcs.pkr.hcl" <<'EOF'
source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]

  provisioner "shell-local" {
    inline = ["echo 'build_name={{ build_name }} build_type={{ build_type }} uuid={{ uuid }} pwd={{ pwd }}'"]
  }
}
EOF

cp "$d"/*.pkr.hcl "$out/build-vars/"
for t in env hcl-build hcl-build-unknown legacy-build legacy-build-pp legacy-funcs; do
    run build-vars "$t" "$d" build -color=false "$t.pkr.hcl"
done

echo "capture-build: wrote $out/{manifest,checksum,output,build-vars}"
