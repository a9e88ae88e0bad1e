//! HCP Packer's naming rules, checked before anything is stored.
//!
//! Buckets, products and channels are slugs of 3–36 letters, digits and `-`; release names
//! (HCP's fingerprints) are 1–40 of `[A-Za-z0-9._-]` beginning and ending with a letter or digit.
//! Components, providers and regions are looser but never hold `/`, `..`, whitespace or control
//! characters, so no name can be mistaken for a path or hide a terminator.

use super::error::{Error, Result};
use super::model::{NewImage, ParentRef, Publish, ReleaseRef, LATEST};
use std::collections::BTreeSet;

/// Check a bucket name.
pub fn bucket(name: &str) -> Result<()> {
    slug("bucket", name)
}

/// Check a product name.
pub fn product(name: &str) -> Result<()> {
    slug("product", name)
}

/// Check a channel name.
pub fn channel(name: &str) -> Result<()> {
    slug("channel", name)
}

/// Check a release name (a fingerprint).
pub fn release(name: &str) -> Result<()> {
    common("release", name, 40)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(
            "release",
            name,
            &format!("{} is not allowed", describe(c)),
            "a release name is 1–40 letters, digits, `.`, `_` and `-`",
        ));
    }
    let first_last = [name.chars().next(), name.chars().last()];
    if first_last
        .iter()
        .flatten()
        .any(|c| !c.is_ascii_alphanumeric())
    {
        return Err(bad(
            "release",
            name,
            "it must begin and end with a letter or digit",
            "a release name is 1–40 letters, digits, `.`, `_` and `-`",
        ));
    }
    Ok(())
}

/// Check a build's component name (`amazon-ebs.my-ami`, `web["us-east-1"]`).
pub fn component(name: &str) -> Result<()> {
    loose("component", name, 128)
}

/// Check a provider (platform) name: `aws`, `azure`, `gcp`, `docker`, `null`...
pub fn provider(name: &str) -> Result<()> {
    common("provider", name, 36)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        return Err(bad(
            "provider",
            name,
            &format!("{} is not allowed", describe(c)),
            "a provider is 1–36 letters, digits, `-` and `_` (aws, azure, gcp, docker, null...)",
        ));
    }
    Ok(())
}

/// Check a Packer run's UUID (`packer_run_uuid`).
pub fn run_uuid(id: &str) -> Result<()> {
    uuid::Uuid::try_parse(id).map(|_| ()).map_err(|_| {
        Error::invalid(format!("invalid run UUID {id:?}"))
            .with_hint("a run UUID is written like 5f0e4b1c-2a9d-4c31-9b7e-0c4f3f6d8a21")
    })
}

/// Check a release's template type: `HCL2` or `JSON`.
pub fn template_type(kind: &str) -> Result<()> {
    if matches!(kind, "HCL2" | "JSON") {
        return Ok(());
    }
    Err(Error::invalid(format!("invalid template type {kind:?}"))
        .with_hint("a template type is HCL2 (`.pkr.hcl`, `.pkr.json`) or JSON (legacy)"))
}

/// Check an SBOM's name (1–128 characters, no path or control characters) and format.
pub fn sbom(name: &str, format: &str) -> Result<()> {
    loose("SBOM", name, 128)?;
    if matches!(format, "SPDX" | "CYCLONEDX") {
        return Ok(());
    }
    Err(Error::invalid(format!("invalid SBOM format {format:?}"))
        .with_hint("an SBOM's format is SPDX or CYCLONEDX"))
}

/// Check a product's description (at most 1,024 characters) and labels (at most 64, keys 1–255
/// characters and values at most 255, none with control characters).
pub fn about(about: &super::model::ProductAbout) -> Result<()> {
    if about.description.chars().count() > 1024 {
        return Err(Error::invalid("a description is at most 1,024 characters"));
    }
    if about.labels.len() > 64 {
        return Err(Error::invalid(format!(
            "{} labels given; a product has at most 64",
            about.labels.len()
        )));
    }
    for (k, v) in &about.labels {
        let control = |s: &str| s.chars().any(char::is_control);
        if k.is_empty()
            || k.chars().count() > 255
            || v.chars().count() > 255
            || control(k)
            || control(v)
        {
            return Err(Error::invalid(format!("invalid label {k:?}"))
                .with_hint("a label's key is 1–255 characters and its value at most 255, without control characters"));
        }
    }
    Ok(())
}

/// Check a region name (`us-east-1`, `null`).
pub fn region(name: &str) -> Result<()> {
    common("region", name, 64)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(
            "region",
            name,
            &format!("{} is not allowed", describe(c)),
            "a region is 1–64 letters, digits, `.`, `_` and `-`",
        ));
    }
    Ok(())
}

/// Check an image's external ID. `/` is allowed here (`projects/p/global/images/x`, `repo/app:tag`).
pub fn external_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 1024 {
        return Err(Error::invalid(format!(
            "invalid image ID {id:?}: an image ID is 1–1024 characters"
        )));
    }
    if let Some(c) = id.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(format!(
            "invalid image ID {id:?}: {} is not allowed",
            describe(c)
        )));
    }
    Ok(())
}

/// Check everything a publish names before the transaction starts.
pub fn check_publish(p: &Publish) -> Result<()> {
    bucket(&p.bucket)?;
    product(&p.product)?;
    release(&p.release)?;
    if p.builds.is_empty() {
        return Err(Error::invalid("a publish needs at least one build"));
    }
    for c in &p.expect {
        component(c)?;
    }
    for c in &p.channels {
        check_assignable(c)?;
    }
    let mut components = BTreeSet::new();
    for b in &p.builds {
        component(&b.component)?;
        provider(&b.provider)?;
        if let Some(s) = &b.source_image {
            external_id(s)?;
        }
        if !components.insert(&b.component) {
            return Err(Error::invalid(format!(
                "component `{}` is published twice",
                b.component
            )));
        }
        check_images(&b.images)?;
    }
    for parent in &p.parents {
        check_parent(parent)?;
    }
    Ok(())
}

/// Check a parent reference.
pub fn check_parent(parent: &ParentRef) -> Result<()> {
    bucket(&parent.bucket)?;
    product(&parent.product)?;
    match &parent.at {
        ReleaseRef::Release(r) => release(r),
        ReleaseRef::Channel(c) => channel(c),
    }
}

/// Check a build's images: good regions and IDs, one image per region.
pub fn check_images(images: &[NewImage]) -> Result<()> {
    let mut regions = BTreeSet::new();
    for i in images {
        region(&i.region)?;
        external_id(&i.external_id)?;
        if !regions.insert(&i.region) {
            return Err(Error::invalid(format!(
                "region `{}` is given twice; a build has one image per region",
                i.region
            )));
        }
    }
    Ok(())
}

/// Check a channel name that a person may assign (not `latest`).
pub fn check_assignable(name: &str) -> Result<()> {
    channel(name)?;
    if name == LATEST {
        return Err(Error::conflict(
            "channel `latest` is managed by kiln: it follows the newest complete, unrevoked release",
        )
        .with_hint("assign another channel name"));
    }
    Ok(())
}

fn slug(kind: &str, name: &str) -> Result<()> {
    let rule = format!("a {kind} name is 3–36 letters, digits and `-`");
    common(kind, name, 36)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(bad(
            kind,
            name,
            &format!("{} is not allowed", describe(c)),
            &rule,
        ));
    }
    if name.chars().count() < 3 {
        return Err(bad(kind, name, "it is shorter than 3 characters", &rule));
    }
    Ok(())
}

fn loose(kind: &str, name: &str, max: usize) -> Result<()> {
    common(kind, name, max)?;
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || *c == '\\') {
        return Err(bad(
            kind,
            name,
            &format!("{} is not allowed", describe(c)),
            &format!("a {kind} is 1–{max} characters without spaces, `/`, `\\` or `..`"),
        ));
    }
    Ok(())
}

/// The rules every name shares: not empty, not too long, no NUL or other control characters,
/// no `/`, no `..`.
fn common(kind: &str, name: &str, max: usize) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("the {kind} name is empty")));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() || *c == '/') {
        return Err(bad(
            kind,
            name,
            &format!("{} is not allowed", describe(c)),
            &format!("a {kind} name cannot hold `/` or control characters"),
        ));
    }
    if name.contains("..") {
        return Err(bad(
            kind,
            name,
            "`..` is not allowed",
            &format!("a {kind} name cannot hold `..`"),
        ));
    }
    if name.chars().count() > max {
        return Err(bad(
            kind,
            name,
            &format!("it is longer than {max} characters"),
            &format!("shorten the {kind} name to at most {max} characters"),
        ));
    }
    Ok(())
}

fn bad(kind: &str, name: &str, why: &str, rule: &str) -> Error {
    Error::invalid(format!("invalid {kind} name {name:?}: {why}")).with_hint(rule.to_string())
}

fn describe(c: char) -> String {
    match c {
        '\0' => "NUL".to_string(),
        '/' => "`/`".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c if c.is_whitespace() => "whitespace".to_string(),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<()>) -> String {
        r.expect_err("the name is refused").to_string()
    }

    #[test]
    fn slugs_are_3_to_36_letters_digits_and_dashes() {
        assert!(product("web").is_ok());
        assert!(product("web-server-2").is_ok());
        assert!(product(&"a".repeat(36)).is_ok());
        assert!(bucket("Team-A").is_ok());
        assert_eq!(
            message(product("ab")),
            "invalid product name \"ab\": it is shorter than 3 characters"
        );
        assert_eq!(
            message(product(&"a".repeat(37))),
            format!(
                "invalid product name \"{}\": it is longer than 36 characters",
                "a".repeat(37)
            )
        );
        assert_eq!(
            message(bucket("web_server")),
            "invalid bucket name \"web_server\": `_` is not allowed"
        );
        assert_eq!(message(channel("")), "the channel name is empty");
    }

    #[test]
    fn slashes_dots_and_nul_are_refused_everywhere() {
        for check in [
            bucket, product, channel, release, component, provider, region,
        ] {
            assert!(check("a/bc").unwrap_err().to_string().contains("`/`"));
            assert!(check("ab\0c").unwrap_err().to_string().contains("NUL"));
            assert!(check("a..bc").is_err());
        }
        assert_eq!(
            message(release("v1..2")),
            "invalid release name \"v1..2\": `..` is not allowed"
        );
        assert_eq!(
            message(component("../etc")),
            "invalid component name \"../etc\": `/` is not allowed"
        );
    }

    #[test]
    fn release_names_follow_hcp_fingerprints() {
        assert!(release("v1.1.0").is_ok());
        assert!(release("01HZX3K9Q7").is_ok());
        assert!(release("a").is_ok());
        assert!(release(&"1".repeat(40)).is_ok());
        assert!(release(&"1".repeat(41)).is_err());
        assert_eq!(
            message(release("-v1")),
            "invalid release name \"-v1\": it must begin and end with a letter or digit"
        );
        assert_eq!(
            message(release("v 1")),
            "invalid release name \"v 1\": whitespace is not allowed"
        );
    }

    #[test]
    fn components_regions_and_ids() {
        assert!(component("amazon-ebs.my-ami").is_ok());
        assert!(component("web[\"us-east-1\"]").is_ok());
        assert!(component("a b").is_err());
        assert!(region("us-east-1").is_ok());
        assert!(region("null").is_ok());
        assert!(region("us east").is_err());
        assert!(provider("aws").is_ok());
        assert!(provider("a.b").is_err());
        assert!(external_id("projects/p/global/images/x").is_ok());
        assert!(external_id("ami-0123").is_ok());
        assert!(external_id("").is_err());
        assert!(external_id("ami\0").is_err());
    }
}
