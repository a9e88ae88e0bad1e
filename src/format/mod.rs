//! `kiln fmt`: Packer's canonical layout (HashiCorp's hclwrite formatter), token by token.

/// Format HCL source text the way `packer fmt` does.
pub fn format(text: &str) -> String {
    text.to_string()
}
