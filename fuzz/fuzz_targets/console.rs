//! Any expression either evaluates to a value that prints, or yields diagnostics that render:
//! `kiln console` on arbitrary text, every function included.

#![no_main]

use kiln::diagnostic::render_all;
use kiln::eval::Context;
use kiln::functions::FunctionContext;
use kiln::source::SourceMap;
use kiln::value::{Map, Value};
use libfuzzer_sys::fuzz_target;

/// A text no expression produces by chance: when output shows it, the secret leaked.
const SECRET: &str = "Qz7-k1ln-secret-Vx9";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // One line, as the console reads them.
    let Some(line) = text.lines().next() else {
        return;
    };
    let mut ctx = Context::new(FunctionContext {
        base_dir: std::env::temp_dir(),
        timestamp: "2026-12-03T00:00:00Z".into(),
        env_allowed: false,
    });
    let mut var = Map::new();
    var.insert("name".into(), Value::string("fuzz"));
    var.insert("secret".into(), Value::string(SECRET).sensitive());
    ctx.variables.insert("var".into(), Value::Object(var));
    ctx.variables.insert("local".into(), Value::Object(Map::new()));
    let mut sources = SourceMap::new();
    let id = sources.add_text("<console-input>", line.to_string());
    match kiln::syntax::parse_expression(id, line).and_then(|e| ctx.eval(&e).map_err(|d| vec![d])) {
        Ok(value) => {
            let shown = kiln::value::to_console(&value);
            assert!(
                !shown.contains(SECRET) || line.contains(SECRET),
                "a sensitive value printed: {shown}"
            );
        }
        Err(diags) => {
            let rendered = render_all(&diags, &sources, false);
            assert!(
                !rendered.contains(SECRET) || line.contains(SECRET),
                "a diagnostic shows the secret: {rendered}"
            );
        }
    }
});
