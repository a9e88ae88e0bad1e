//! Any template either loads, evaluates and compiles, or yields diagnostics that point inside
//! it and render: `kiln validate` on arbitrary text, evaluation included.

#![no_main]

use kiln::config::{self, LoadOptions};
use kiln::diagnostic::render_all;
use kiln::source::SourceMap;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch folder per process: the input is written to a template file in it, since
/// loading reads files (and `file()` or `templatefile()` read beside them).
fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kiln-fuzz-validate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        std::fs::write(dir.join("data.txt"), "some text\n").expect("a file to read");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let dir = folder();
    let path = dir.join("fuzz.pkr.hcl");
    std::fs::write(&path, text.as_bytes()).expect("the template is written");
    let options = LoadOptions {
        path: path.clone(),
        vars: Vec::new(),
        env: Default::default(),
        timestamp: "2026-12-03T00:00:00Z".into(),
        cwd: dir.clone(),
        allow_unset: true,
        warn_undeclared_vars: false,
    };
    let mut sources = SourceMap::new();
    let (template, diags) = config::load(&mut sources, &options);
    let _ = render_all(&diags, &sources, false);
    if let Some(template) = template.filter(|_| !kiln::diagnostic::has_errors(&diags)) {
        match kiln::plan::compile(&template, &Default::default()) {
            Ok(graph) => {
                let _ = render_all(graph.warnings(), &sources, false);
            }
            Err(diags) => {
                assert!(!diags.is_empty(), "a failed compile reported nothing");
                let _ = render_all(&diags, &sources, false);
            }
        }
    }
});
