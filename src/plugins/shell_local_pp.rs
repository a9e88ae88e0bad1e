//! Post-processor `shell-local`: runs commands on the machine running kiln after a build, with
//! the same fields as the `shell-local` provisioner.

use super::check::Checker;
use super::shell_local::validate_shell_local;
use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;

super::plugin_config! {
    /// The shell-local post-processor's config.
    #[derive(Deserialize, Debug, Clone, PartialEq)]
    pub struct Config with [shell_local_fields] {}
}

impl Config {
    /// Packer's `shell-local` checks.
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        validate_shell_local(&mut c);
        c.finish()
    }
}
