//! Post-processor `shell-local`: runs commands on the machine running kiln after a build. Its
//! fields and checks are the `shell-local` provisioner's (one package in Packer).

/// The shell-local post-processor's config: the provisioner's.
pub type Config = super::shell_local::Config;
