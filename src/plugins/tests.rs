//! Tests across the registry: the seed template, unknown plugin types, and real templates.

use super::*;
use crate::body::{AttrValue, BlockValue};
use crate::source::FileId;
use crate::syntax::{self, Block, Body, Structure};
use crate::value::{literal_value, Value};

/// A body's evaluated form for tests: literal expressions keep their value, anything else
/// (references, function calls) becomes unknown, as it may be before a build runs.
fn literal_body(body: &Body, span: Span) -> BodyValue {
    let mut out = BodyValue {
        span,
        ..BodyValue::default()
    };
    for item in &body.items {
        match item {
            Structure::Attribute(a) => out.attrs.push(AttrValue {
                name: a.name.name.clone(),
                name_span: a.name.span,
                value: literal_value(&a.expr).unwrap_or_else(Value::unknown),
                value_span: a.expr.span,
            }),
            Structure::Block(b) if b.ident.name == "dynamic" => {}
            Structure::Block(b) => out.blocks.push(BlockValue {
                kind: b.ident.name.clone(),
                kind_span: b.ident.span,
                labels: b.labels.iter().map(|l| l.value.clone()).collect(),
                body: literal_body(&b.body, b.header_span()),
                span: b.span,
            }),
        }
    }
    out
}

/// Every plugin block of a file: (kind, type name, type span, body), build steps included
/// (without their meta-arguments, as the loader passes them).
fn plugin_blocks(body: &Body) -> Vec<(PluginKind, String, Span, BodyValue)> {
    let mut out = Vec::new();
    let mut push = |kind, block: &Block| {
        if let Some(label) = block.labels.first() {
            let mut value = literal_body(&block.body, block.header_span());
            value
                .attrs
                .retain(|a| !crate::config::blocks::STEP_META.contains(&a.name.as_str()));
            out.push((kind, label.value.clone(), label.span, value));
        }
    };
    for block in body.blocks() {
        match block.ident.name.as_str() {
            "source" => push(PluginKind::Builder, block),
            "data" => push(PluginKind::DataSource, block),
            "build" => {
                for step in block.body.blocks() {
                    match step.ident.name.as_str() {
                        "provisioner" | "error-cleanup-provisioner" => {
                            push(PluginKind::Provisioner, step)
                        }
                        "post-processor" => push(PluginKind::PostProcessor, step),
                        "post-processors" => {
                            for inner in step
                                .body
                                .blocks()
                                .filter(|b| b.ident.name == "post-processor")
                            {
                                push(PluginKind::PostProcessor, inner);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

const SEED: &str = include_str!("../../examples/seed.pkr.hcl");

fn seed_blocks() -> Vec<(PluginKind, String, Span, BodyValue)> {
    plugin_blocks(&syntax::parse(FileId(0), SEED).expect("the seed parses"))
}

#[test]
fn the_seed_template_decodes_cleanly() {
    let blocks = seed_blocks();
    assert_eq!(blocks.len(), 3);
    for (kind, name, span, body) in &blocks {
        let (config, diags) = check(*kind, name, *span, body);
        assert_eq!(diags, [], "{name}");
        assert_eq!(config.map(|c| c.kind()), Some(*kind), "{name}");
    }
}

#[test]
fn the_seed_source_is_an_amazon_ebs_config() {
    let (kind, name, span, body) = &seed_blocks()[0];
    assert!(matches!(
        decode(*kind, name, *span, body),
        Ok(Decoded::Builder(_))
    ));
    let config: amazon::ebs::Config = decode_as(body, "the builder").expect("decodes");
    assert_eq!(config.ami_name, "my-custom-ami-{{timestamp}}");
    assert_eq!(config.instance_type, "t3.micro");
    assert_eq!(config.region, "us-east-1");
    assert_eq!(config.ssh_username, "ubuntu");
    let filter = config
        .source_ami_filter
        .as_ref()
        .expect("source_ami_filter");
    assert_eq!(filter.owners, ["099720109477"]);
    assert!(filter.most_recent);
    assert_eq!(filter.filters["Root-Device-Type"], "ebs");
    assert!(config.ami_regions.is_empty());
}

#[test]
fn the_seed_publishes_a_release() {
    let (kind, name, span, body) = &seed_blocks()[2];
    assert!(matches!(
        decode(*kind, name, *span, body),
        Ok(Decoded::PostProcessor(_))
    ));
    let config: hcp::publish::Config = decode_as(body, "the post-processor").expect("decodes");
    assert_eq!(config.bucket_name, "my-hcp-packer-bucket");
    assert_eq!(config.product_name, "my-product");
    assert_eq!(config.release_name, "my-release");
    assert_eq!(config.channel, None);
}

#[test]
fn an_unknown_builder_is_one_diagnostic_at_the_type() {
    let span = Span {
        file: FileId(0),
        start: 8,
        end: 14,
    };
    let got = decode(PluginKind::Builder, "qemu", span, &BodyValue::default()).expect_err("fails");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, "kiln has no builder `qemu`");
    assert_eq!(got[0].span, Some(span));
    assert_eq!(
        got[0].hint.as_deref(),
        Some("available builders: amazon-ebs, file, null")
    );
    let close = decode(
        PluginKind::Builder,
        "amazon-eb",
        span,
        &BodyValue::default(),
    )
    .expect_err("fails");
    assert_eq!(
        close[0].hint.as_deref(),
        Some("did you mean `amazon-ebs`? available builders: amazon-ebs, file, null")
    );
    let elsewhere = decode(
        PluginKind::Provisioner,
        "manifest",
        span,
        &BodyValue::default(),
    )
    .expect_err("fails");
    assert_eq!(
        elsewhere[0].hint.as_deref(),
        Some("`manifest` is a post-processor, not a provisioner; available provisioners: breakpoint, file, shell, shell-local")
    );
}

#[test]
fn a_misspelt_field_names_the_plugin() {
    let (kind, name, span, mut body) = seed_blocks().remove(0);
    let ami_name = body
        .attrs
        .iter_mut()
        .find(|a| a.name == "ami_name")
        .expect("ami_name");
    ami_name.name = "ami_nme".into();
    let got = decode(kind, &name, span, &body).expect_err("fails");
    assert_eq!(
        got[0].message,
        "unknown field `ami_nme` in the amazon-ebs builder"
    );
    assert_eq!(got[0].hint.as_deref(), Some("did you mean `ami_name`?"));
    // The typo explains the missing field: it is not reported a second time.
    assert_eq!(got.len(), 1, "{got:?}");
}

#[test]
fn deprecated_data_sources_still_decode_with_a_warning() {
    let text = "data \"hcp-packer-image\" \"x\" {\n  bucket_name = \"b\"\n  channel = \"prod\"\n  cloud_provider = \"aws\"\n  region = \"us-east-1\"\n}\n";
    let (kind, name, span, body) =
        plugin_blocks(&syntax::parse(FileId(0), text).expect("parses")).remove(0);
    let (config, diags) = check(kind, &name, span, &body);
    assert!(matches!(config, Some(Decoded::DataSource(_))));
    let entry = find(PluginKind::DataSource, "hcp-packer-image").expect("in the table");
    assert_eq!(entry.replaced_by, Some("hcp-packer-artifact"));
    assert_eq!(diags.len(), 1);
    assert!(!diags[0].is_error());
    assert_eq!(
        diags[0].hint.as_deref(),
        Some("use `hcp-packer-artifact` instead")
    );
}

#[test]
fn every_plugin_a_source_provides_exists() {
    for (source, provided) in plugin_sources() {
        for name in provided.iter() {
            assert!(
                PluginKind::ALL.iter().any(|k| names(*k).contains(name)),
                "{source}: {name}"
            );
        }
    }
    for kind in PluginKind::ALL {
        let mut sorted = names(kind).to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, names(kind));
    }
}

#[test]
fn builders_accept_every_communicator_field() {
    let body = BodyValue {
        attrs: remote::communicator::FIELDS
            .iter()
            .map(|name| AttrValue {
                name: name.to_string(),
                name_span: Span::default(),
                value: Value::unknown(),
                value_span: Span::default(),
            })
            .collect(),
        ..BodyValue::default()
    };
    let (null, diags) = check(PluginKind::Builder, "null", Span::default(), &body);
    assert!(matches!(null, Some(Decoded::Builder(_))), "{diags:?}");
    assert_eq!(diags, []);
    let mut ebs = body.clone();
    for (name, value) in [
        ("ami_name", "x-{{timestamp}}"),
        ("instance_type", "t3.micro"),
        ("source_ami", "ami-1"),
    ] {
        ebs.attrs.push(AttrValue {
            name: name.into(),
            name_span: Span::default(),
            value: Value::string(value),
            value_span: Span::default(),
        });
    }
    assert_eq!(
        check(PluginKind::Builder, "amazon-ebs", Span::default(), &ebs).1,
        []
    );
}

/// Every block of a plugin kiln has, in the real-world templates of the shared corpus (not
/// Packer's own test fixtures, which use mock plugins with made-up fields), decodes and passes
/// its checks.
#[test]
fn real_world_templates_decode() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(repos) = std::fs::read_dir(&root) else {
        return;
    };
    let mut paths: Vec<std::path::PathBuf> = repos
        .flatten()
        .filter(|r| r.file_name() != "hashicorp__packer")
        .flat_map(|r| std::fs::read_dir(r.path()).into_iter().flatten().flatten())
        .map(|f| f.path())
        .filter(|p| p.to_string_lossy().ends_with(".pkr.hcl"))
        .collect();
    paths.sort();
    let mut decoded = 0;
    let mut problems = Vec::new();
    for path in &paths {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(body) = syntax::parse(FileId(0), &text) else {
            continue;
        };
        for (kind, name, span, value) in plugin_blocks(&body) {
            if !names(kind).contains(&name.as_str()) {
                continue;
            }
            decoded += 1;
            for d in check(kind, &name, span, &value)
                .1
                .into_iter()
                .filter(Diagnostic::is_error)
            {
                let line = d
                    .span
                    .map_or(0, |s| text[..s.start as usize].lines().count());
                problems.push(format!("{}:{line}: {}", path.display(), d.message));
            }
        }
    }
    assert_eq!(problems, Vec::<String>::new());
    assert!(
        paths.is_empty() || decoded > 100,
        "only {decoded} plugin blocks found"
    );
}
