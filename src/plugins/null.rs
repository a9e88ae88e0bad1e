//! Builder `null`: builds nothing, connects to an existing machine (or nowhere, with
//! `communicator = "none"`) so provisioners and post-processors can run.

use super::check::Checker;
use super::communicator;
use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;

super::plugin_config! {
    /// The null builder's config: only the communicator.
    #[derive(Deserialize, Debug, Clone)]
    pub struct Config with [communicator_fields] {}
}

impl Config {
    /// Packer's `Prepare()` checks for the null builder: unless the communicator is `none`, a
    /// host and one authentication method are required.
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        communicator::validate(&mut c);
        if communicator::kind(&c).as_deref() == Some("ssh") {
            if !c.is_set("ssh_host") {
                c.push(
                    Diagnostic::error(
                        c.block_span(),
                        "a host must be specified for the null builder",
                    )
                    .with_hint(
                        "set `ssh_host`, or `communicator = \"none\"` to run without a machine",
                    ),
                );
            }
            let agent = c.bool("ssh_agent_auth") == Some(true) || c.is_pending("ssh_agent_auth");
            let methods = [
                agent,
                c.is_set("ssh_password"),
                c.is_set("ssh_private_key_file"),
            ];
            match methods.iter().filter(|m| **m).count() {
                0 => c.push(
                    Diagnostic::error(c.block_span(), "one authentication method must be specified")
                        .with_hint("set `ssh_password`, `ssh_private_key_file` or `ssh_agent_auth = true`"),
                ),
                1 => {}
                _ => c.push(Diagnostic::error(
                    c.block_span(),
                    "only one of ssh_agent_auth, ssh_password and ssh_private_key_file may be specified",
                )),
            }
        }
        c.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::decode::decode;
    use crate::config::AttrValue;
    use crate::source::Span;
    use crate::value::Value;

    fn body(attrs: &[(&str, &str)]) -> BodyValue {
        BodyValue {
            attrs: attrs
                .iter()
                .map(|(n, v)| AttrValue {
                    name: n.to_string(),
                    name_span: Span::default(),
                    value: Value::string(*v),
                    value_span: Span::default(),
                })
                .collect(),
            ..BodyValue::default()
        }
    }

    fn messages(body: &BodyValue) -> Vec<String> {
        let config: Config = decode(body).expect("decodes");
        config
            .validate(body)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn none_needs_nothing() {
        assert_eq!(
            messages(&body(&[("communicator", "none")])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn ssh_needs_host_user_and_auth() {
        assert_eq!(
            messages(&body(&[])),
            [
                "an ssh_username must be specified",
                "a host must be specified for the null builder",
                "one authentication method must be specified",
            ]
        );
        let ok = body(&[
            ("ssh_host", "10.0.0.1"),
            ("ssh_username", "root"),
            ("ssh_password", "x"),
        ]);
        assert_eq!(messages(&ok), Vec::<String>::new());
    }

    #[test]
    fn winrm_is_not_supported() {
        assert_eq!(
            messages(&body(&[
                ("communicator", "winrm"),
                ("ssh_host", "h"),
                ("ssh_password", "x")
            ])),
            ["kiln cannot connect with the winrm communicator"]
        );
    }
}
