//! Loading templates: variables, locals and data sources evaluated in dependency order, blocks
//! read and decoded into typed plugin configs. Packer's "initialize" phase.

pub mod binder;
pub mod blocks;
mod check;
mod deps;
pub mod each;
pub mod evaluate;
pub mod files;
mod json;
pub mod locals;
mod schema;
mod step;
pub mod variables;
pub mod version;

pub use crate::body::{AttrValue, BlockValue, BodyValue};
pub use binder::{Binder, DataBinder, Known, SourceConfig, Written};
pub use blocks::{
    BuildBlock, Each, PackerBlock, RegistryBlock, RequiredPlugin, SourceBlock, SourceUse, StepBlock,
};
pub use locals::{DataSource, Local};
pub use variables::{Origin, VarArg, Variable};

use crate::diagnostic::{suggest, Diagnostic};
use crate::eval::Context;
use crate::functions::FunctionContext;
use crate::plugins;
use crate::source::{SourceMap, Span};
use crate::syntax::{Body, Structure};
use crate::value::{Map, Type, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The version of Packer's template language kiln implements (what `packer.version` reads and
/// `required_version` is checked against).
pub const PACKER_VERSION: &str = "1.15.0";

/// What to load and with which inputs.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// A template file or a directory of them.
    pub path: PathBuf,
    /// `-var` and `-var-file`, in command-line order.
    pub vars: Vec<VarArg>,
    /// The environment (for `PKR_VAR_*`).
    pub env: BTreeMap<String, String>,
    /// The run's timestamp (RFC 3339, UTC); `timestamp()` returns it.
    pub timestamp: String,
    /// The working directory (`path.cwd`).
    pub cwd: PathBuf,
    /// Leave variables without a value unknown instead of failing (`inspect`, `console`).
    pub allow_unset: bool,
    /// Warn about names a variable file sets that the template does not declare (`validate`
    /// does unless `-no-warn-undeclared-var`; `build` only with `-warn-on-undeclared-var`).
    pub warn_undeclared_vars: bool,
}

/// A loaded and evaluated template.
#[derive(Clone, Debug)]
pub struct Template {
    /// `path.root`.
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
    pub packer: PackerBlock,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    /// The locals that read data sources, in evaluation order: evaluated again once the data
    /// sources have run.
    pub data_locals: Arc<Vec<Local>>,
    pub data: Vec<DataSource>,
    pub sources: Vec<SourceBlock>,
    pub builds: Vec<BuildBlock>,
    /// A top-level `hcp_packer_registry` block.
    pub registry: Option<RegistryBlock>,
    /// `var`, `local`, `data`, `path`, `packer` for evaluating everything else.
    pub context: Context,
}

const TOP_LEVEL: &[&str] = &[
    "packer",
    "variable",
    "variables",
    "locals",
    "local",
    "data",
    "source",
    "build",
    "hcp_packer_registry",
];

/// Load the template at `options.path`. Returns the template when nothing fatal happened, and
/// every diagnostic found (warnings included).
pub fn load(sources: &mut SourceMap, options: &LoadOptions) -> (Option<Template>, Vec<Diagnostic>) {
    let (found, bodies, mut diags) = match parse_all(sources, &options.path) {
        Ok(parsed) => parsed,
        Err(diags) => return (None, diags),
    };
    let bodies: Vec<&Body> = bodies.iter().collect();
    for body in &bodies {
        check_top_level(body, &mut diags);
    }
    let root = found.root.clone();
    let mut ctx = Context::new(FunctionContext {
        base_dir: root.clone(),
        timestamp: options.timestamp.clone(),
        env_allowed: false,
    });
    let mut path = Map::new();
    path.insert("root".into(), Value::String(root.display().to_string()));
    path.insert(
        "cwd".into(),
        Value::String(options.cwd.display().to_string()),
    );
    ctx.variables.insert("path".into(), Value::Object(path));
    let mut packer = Map::new();
    packer.insert("version".into(), Value::string(PACKER_VERSION));
    // The HCP registry's version fingerprint, known once a build runs.
    packer.insert("versionFingerprint".into(), Value::Unknown(Type::String));
    ctx.variables.insert("packer".into(), Value::Object(packer));

    let mut variables = variables::declare(&bodies, &ctx, &mut diags);
    variables::assign(
        &mut variables,
        variables::Assignments {
            env: &options.env,
            auto_files: &found.auto_var_files,
            args: &options.vars,
            allow_unset: options.allow_unset,
            warn_undeclared: options.warn_undeclared_vars,
        },
        sources,
        &ctx,
        &mut diags,
    );
    ctx.variables
        .insert("var".into(), variables::object(&variables));
    variables::validate(&variables, &ctx, &mut diags);

    ctx.variables
        .insert("local".into(), Value::Object(Map::new()));
    ctx.variables
        .insert("data".into(), Value::Object(Map::new()));
    let (locals, data, data_locals) = locals::evaluate_all(&bodies, &mut ctx, &mut diags);

    let mut packer_block = PackerBlock::default();
    let mut source_blocks: Vec<blocks::SourceBlock> = Vec::new();
    let mut declared: std::collections::HashMap<String, Span> = std::collections::HashMap::new();
    let mut registry = None;
    for body in &bodies {
        for block in body.blocks() {
            match block.ident.name.as_str() {
                "packer" => {
                    let p = blocks::packer(block, &ctx, &mut diags);
                    if p.required_version.is_some() {
                        packer_block.required_version = p.required_version;
                    }
                    packer_block.required_plugins.extend(p.required_plugins);
                }
                "source" => {
                    if let Some(s) = blocks::source(block, &mut diags) {
                        if let Some(first) = declared.get(&s.address()) {
                            diags.push(
                                Diagnostic::error(
                                    s.span,
                                    format!("the source `{}` is declared twice", s.address()),
                                )
                                .with_label(*first, "first declared here")
                                .with_hint("source names must be unique per type"),
                            );
                            continue;
                        }
                        declared.insert(s.address(), s.span);
                        if s.for_each.is_none() {
                            source_blocks.push(s);
                            continue;
                        }
                        for instance in blocks::expand_for_each(s, &ctx, &mut diags) {
                            let address = instance.address();
                            let unexpanded = instance.for_each.is_some();
                            if !unexpanded
                                && declared.insert(address.clone(), instance.span).is_some()
                            {
                                let message = format!("the source `{address}` is declared twice");
                                let hint =
                                    "a `for_each` instance has the same name as another source";
                                diags.push(
                                    Diagnostic::error(instance.span, message).with_hint(hint),
                                );
                                continue;
                            }
                            source_blocks.push(instance);
                        }
                    }
                }
                "hcp_packer_registry" => {
                    schema::check(&block.body, &blocks::REGISTRY_SCHEMA, &mut diags);
                    registry = Some(RegistryBlock {
                        span: block.header_span(),
                        body: block.body.clone(),
                        deps: Default::default(),
                    })
                }
                _ => {}
            }
        }
    }
    check_packer_block(&packer_block, &mut diags);
    let mut builds = Vec::new();
    for body in &bodies {
        for block in body.blocks().filter(|b| b.ident.name == "build") {
            let index = builds.len();
            builds.push(blocks::build(
                block,
                index,
                &source_blocks,
                &ctx,
                &mut diags,
            ));
        }
    }
    let mut template = Template {
        root,
        files: found.templates,
        packer: packer_block,
        variables,
        locals,
        data_locals: Arc::new(data_locals),
        data,
        sources: source_blocks,
        builds,
        registry,
        context: ctx,
    };
    // Every plugin config is checked even when something else is wrong, so one run reports
    // every mistake.
    diags.extend(check::check(&mut template));
    (Some(template), diags)
}

/// Read only the `packer` blocks of the template at `path` (for `init`, which must work before
/// anything else can be evaluated): `None` when the files cannot be read or parsed.
pub fn load_packer_block(
    sources: &mut SourceMap,
    path: &Path,
) -> (Option<PackerBlock>, Vec<Diagnostic>) {
    let (found, bodies, mut diags) = match parse_all(sources, path) {
        Ok(parsed) => parsed,
        Err(diags) => return (None, diags),
    };
    for body in &bodies {
        if let Some(legacy) = legacy_json(body) {
            diags.push(legacy);
            return (None, diags);
        }
    }
    let mut ctx = Context::new(FunctionContext {
        base_dir: found.root.clone(),
        timestamp: String::new(),
        env_allowed: false,
    });
    let mut path_object = Map::new();
    path_object.insert(
        "root".into(),
        Value::String(found.root.display().to_string()),
    );
    ctx.variables
        .insert("path".into(), Value::Object(path_object));
    let mut packer = PackerBlock::default();
    for block in bodies.iter().flat_map(|b| b.blocks()) {
        if block.ident.name == "packer" {
            let p = blocks::packer(block, &ctx, &mut diags);
            if p.required_version.is_some() {
                packer.required_version = p.required_version;
            }
            packer.required_plugins.extend(p.required_plugins);
        }
    }
    // A plugin kiln lacks (a warning there) is for the caller to report, once.
    let mut checked = Vec::new();
    check_packer_block(&packer, &mut checked);
    diags.extend(
        checked
            .into_iter()
            .filter(|d| d.severity == crate::diagnostic::Severity::Error),
    );
    let ok = !crate::diagnostic::has_errors(&diags);
    (ok.then_some(packer), diags)
}

/// Find and parse every file of the template at `path`: its files, their bodies and the
/// warnings found; the diagnostics alone when a file cannot be found or parsed.
fn parse_all(
    sources: &mut SourceMap,
    path: &Path,
) -> Result<(files::TemplateFiles, Vec<Body>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let found = files::find(path).map_err(|e| vec![Diagnostic::global(e.to_string())])?;
    let mut diags = Vec::new();
    let mut bodies = Vec::new();
    for path in &found.templates {
        match files::parse(sources, path) {
            Ok(parsed) => bodies.push(parsed.body),
            Err(d) => diags.extend(d),
        }
    }
    if crate::diagnostic::has_errors(&diags) {
        return Err(diags);
    }
    Ok((found, bodies, diags))
}

/// A legacy JSON template (`{"builders": [...]}`) is named as one, not reported attribute by
/// attribute.
fn legacy_json(body: &Body) -> Option<Diagnostic> {
    let builders = body.attribute("builders")?;
    Some(
        Diagnostic::error(
            builders.name.span,
            "this is a legacy JSON template (it has `builders`); kiln reads HCL2 templates, `*.pkr.hcl` and `*.pkr.json`",
        )
        .with_hint("convert it once with `packer hcl2_upgrade FILE.json` (Packer 1.6.4 or later), which writes FILE.json.pkr.hcl, and use that"),
    )
}

fn check_top_level(body: &Body, diags: &mut Vec<Diagnostic>) {
    if let Some(legacy) = legacy_json(body) {
        diags.push(legacy);
        return;
    }
    for item in &body.items {
        match item {
            Structure::Attribute(a) => diags.push(
                Diagnostic::error(a.name.span, format!("unexpected attribute `{}` at the top level", a.name.name))
                    .with_hint("a template's top level holds blocks: packer, variable, locals, data, source and build; set values inside them"),
            ),
            Structure::Block(b) if !TOP_LEVEL.contains(&b.ident.name.as_str()) => {
                let d = Diagnostic::error(b.ident.span, format!("unknown block type `{}`", b.ident.name));
                diags.push(match suggest(&b.ident.name, TOP_LEVEL) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint(format!("the top-level blocks are {}", crate::diagnostic::quote_list(TOP_LEVEL))),
                });
            }
            Structure::Block(_) => {}
        }
    }
}

fn check_packer_block(packer: &PackerBlock, diags: &mut Vec<Diagnostic>) {
    if let Some((constraint, span)) = &packer.required_version {
        match version::satisfies(PACKER_VERSION, constraint) {
            Ok(true) => {}
            Ok(false) => diags.push(
                Diagnostic::error(*span, format!("this template requires Packer {constraint}; kiln implements Packer {PACKER_VERSION}"))
                    .with_hint("check the template's required_version"),
            ),
            Err(e) => diags.push(Diagnostic::error(*span, format!("invalid version constraint: {e}"))),
        }
    }
    for rp in &packer.required_plugins {
        let Some(source) = &rp.source else { continue };
        if plugins::provided_by(source).is_none() {
            diags.push(
                Diagnostic::warning(rp.span, format!("kiln has no built-in plugin for `{source}`"))
                    .with_hint("blocks that need this plugin will be rejected; kiln's plugins are built in and need no `packer init`"),
            );
        }
    }
}

impl Template {
    /// The evaluation context for a source inside a build: adds `source.*` and `build.*`
    /// (whose build-time fields are unknown).
    pub fn source_context(&self, build: &BuildBlock, use_: &SourceUse) -> Context {
        let mut ctx = self.context.clone();
        let mut source = Map::new();
        source.insert("name".into(), Value::String(use_.name.clone()));
        source.insert("type".into(), Value::String(use_.kind.clone()));
        ctx.variables.insert("source".into(), Value::Object(source));
        ctx.variables.insert(
            "build".into(),
            build_object(build.name.as_deref().unwrap_or_default(), &BTreeMap::new()),
        );
        if let Some(each) = &use_.each {
            ctx.variables.insert("each".into(), each.object());
        }
        ctx
    }

    /// The context `kiln console` evaluates in: the template's, plus `source` and `build`, whose
    /// values are known only inside a build.
    pub fn console_context(&self) -> Context {
        let mut ctx = self.context.clone();
        let object = |fields: &[&str]| {
            Type::Object(
                fields
                    .iter()
                    .map(|f| (f.to_string(), Type::String))
                    .collect(),
            )
        };
        ctx.variables
            .insert("source".into(), Value::Unknown(object(&["name", "type"])));
        ctx.variables
            .insert("build".into(), Value::Unknown(object(BUILD_TIME_FIELDS)));
        ctx
    }
}

/// `build.*`: the build's name, and its generated data; fields not generated (yet) are
/// unknown.
fn build_object(build_name: &str, generated: &BTreeMap<String, String>) -> Value {
    let mut b = Map::new();
    b.insert("name".into(), Value::String(build_name.to_string()));
    for field in BUILD_TIME_FIELDS {
        b.insert((*field).into(), Value::Unknown(Type::String));
    }
    for (k, v) in generated {
        b.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(b)
}

/// Fields of `build.*` known only once a build runs.
pub const BUILD_TIME_FIELDS: &[&str] = &[
    "ID",
    "Host",
    "Port",
    "User",
    "Password",
    "SSHPublicKey",
    "SSHPrivateKey",
    "PackerRunUUID",
    "SourceAMI",
    "SourceAMIName",
    "BuildRegion",
    "ConnType",
    "WinRMPassword",
];

impl Template {
    /// Every sensitive value as the text a command could print: values of `sensitive`
    /// variables and locals, and what is marked sensitive inside others (see
    /// [`collect_secrets`]). A build's output shows `<sensitive>` in their place.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for v in self.variables.values() {
            collect_secrets(&v.value, v.sensitive, &mut out);
        }
        for l in self.locals.values() {
            collect_secrets(&l.value, l.sensitive, &mut out);
        }
        // Secret fields of the sources (`secret_key`, `ssh_password`...), sensitive by name.
        for config in self
            .builds
            .iter()
            .flat_map(|b| &b.sources)
            .filter_map(|u| u.config.as_ref())
        {
            for a in &config.body.attrs {
                collect_secrets(&a.value, false, &mut out);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The texts to hide inside `v`. A value declared sensitive gives all of its strings and
/// numbers. A value only derived from a secret (marked through a function, a key or a `for`)
/// gives its strings, but none shorter than [`SHORTEST_DERIVED`]: a mark covers a whole object,
/// and hiding each `"v"` or `1` in it would cut every such letter or digit out of all output.
/// Keys are not hidden: a key that is a secret is hidden as that secret already.
fn collect_secrets(v: &Value, declared: bool, out: &mut Vec<String>) {
    collect_marked(v, declared, declared, out);
}

const SHORTEST_DERIVED: usize = 4;

fn collect_marked(v: &Value, declared: bool, marked: bool, out: &mut Vec<String>) {
    let hide = |s: &str, out: &mut Vec<String>| {
        if !s.is_empty() && (declared || s.len() >= SHORTEST_DERIVED) {
            out.push(s.to_string());
        }
    };
    match v {
        Value::Sensitive(inner) => collect_marked(inner, declared, true, out),
        Value::String(s) if marked => hide(s, out),
        Value::Number(_) | Value::Bool(_) if declared => out.push(crate::value::to_console(v)),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs
            .iter()
            .for_each(|x| collect_marked(x, declared, marked, out)),
        Value::Map(m) | Value::Object(m) => {
            m.values()
                .for_each(|x| collect_marked(x, declared, marked, out));
        }
        _ => {}
    }
}
