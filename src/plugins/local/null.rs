//! Builder `null`: builds nothing, connects to an existing machine (or nowhere, with
//! `communicator = "none"`) so provisioners and post-processors can run.

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::functions::gotime::wait_duration;
use crate::plugins::check::Checker;
use crate::plugins::remote::communicator;
use crate::plugins::remote::ssh;
use crate::plugins::sdk::{
    generated, Artifact, Builder, BuilderPlan, BuilderStep, BuilderStepKind, StepContext,
    StepError, StepFuture,
};
use serde::Deserialize;
use std::collections::BTreeMap;

crate::plugins::plugin_config! {
    /// The null builder's config: only the communicator.
    #[derive(Deserialize, Debug, Clone)]
    pub struct Config with [communicator_fields] {}
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's `Prepare()` checks for the null builder: unless the communicator is `none`, a
    /// host and one authentication method are required.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
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

impl Builder for Config {
    fn platform(&self) -> &'static str {
        "null"
    }

    fn plan(&self, body: &BodyValue) -> BuilderPlan {
        let summary = match body.attr("communicator").and_then(|a| a.value.as_str()) {
            Some("none") => "start without a communicator".into(),
            Some(other) => format!("connect over {other}"),
            None => "connect over ssh".into(),
        };
        BuilderPlan {
            steps: vec![BuilderStep {
                kind: BuilderStepKind::Launch,
                name: "launch".into(),
                summary,
                region: None,
                api: false,
                span: None,
                plugin: None,
            }],
            connects: match self.communicator.as_str() {
                "" | "ssh" => Ok(()),
                "none" => Err("the build's communicator is `none`".into()),
                other => Err(format!("kiln cannot connect over {other} yet")),
            },
        }
    }

    fn unsupported(&self) -> Option<String> {
        (!matches!(self.communicator.as_str(), "" | "ssh" | "none")).then(|| {
            "kiln runs the null builder only with `communicator = \"ssh\"` or `\"none\"` so far"
                .into()
        })
    }

    fn run<'a>(&'a self, step: &'a BuilderStep, cx: StepContext<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            if step.kind != BuilderStepKind::Launch {
                return Ok(());
            }
            let mut generated = generated::base(&cx);
            if self.communicator == "none" {
                // Without a communicator there is no host to tell; Packer shows `<unknown>`.
                generated::without_connection(&mut generated, "Null");
            } else {
                connect(&cx, self, &mut generated).await?;
            }
            cx.host.launched(cx.session()?, generated, Artifact::null());
            Ok(())
        })
    }
}

/// The null builder with a communicator: connect over SSH as Packer does, keep the connection
/// in the session and record the connection's generated data.
async fn connect(
    cx: &StepContext<'_>,
    c: &Config,
    generated: &mut BTreeMap<String, String>,
) -> Result<(), StepError> {
    let target = ssh_target(cx, c)?;
    if !c.pause_before_connecting.is_empty() {
        let pause = wait_duration(&c.pause_before_connecting)
            .map_err(|e| StepError::new(format!("pause_before_connecting: {e}")))?;
        cx.pause(pause, "before connecting").await?;
    }
    cx.say(&format!(
        "Using SSH communicator to connect: {}",
        target.host
    ));
    generated.insert("ID".into(), "Null".into());
    ssh::open_for_session(*cx, &target, &c.ssh_password, &c.winrm_password, generated).await?;
    Ok(())
}

/// Where and how the null builder connects, its credentials registered as secrets first so
/// no later line can show them.
fn ssh_target(cx: &StepContext<'_>, c: &Config) -> Result<ssh::Target, StepError> {
    use ssh::Auth;
    let unsupported = [
        ("ssh_bastion_host", !c.ssh_bastion_host.is_empty()),
        ("ssh_proxy_host", !c.ssh_proxy_host.is_empty()),
        ("ssh_certificate_file", !c.ssh_certificate_file.is_empty()),
        ("ssh_local_tunnels", !c.ssh_local_tunnels.is_empty()),
        ("ssh_remote_tunnels", !c.ssh_remote_tunnels.is_empty()),
        ("ssh_ciphers", !c.ssh_ciphers.is_empty()),
        (
            "ssh_key_exchange_algorithms",
            !c.ssh_key_exchange_algorithms.is_empty(),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(StepError::new(format!(
            "kiln cannot use `{field}` with the SSH communicator yet; remove it to connect directly"
        )));
    }
    cx.add_secret(&c.ssh_password);
    let auth = if c.ssh_agent_auth {
        Auth::Agent
    } else if !c.ssh_private_key_file.is_empty() {
        let file = &c.ssh_private_key_file;
        let path = match file.strip_prefix("~/") {
            Some(rest) => std::env::var("HOME")
                .map(|home| std::path::Path::new(&home).join(rest))
                .unwrap_or_else(|_| file.into()),
            None => file.into(),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            StepError::new(format!("cannot read the ssh_private_key_file {file}: {e}"))
        })?;
        cx.add_secret(text.trim());
        // Output arrives line by line: each line of the key is a secret of its own.
        for line in text
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        {
            cx.add_secret(line.trim());
        }
        Auth::Key {
            file: file.clone(),
            text,
        }
    } else {
        Auth::Password(c.ssh_password.clone())
    };
    let timeout_text = [&c.ssh_timeout, &c.ssh_wait_timeout]
        .into_iter()
        .find(|t| !t.is_empty());
    let timeout = match timeout_text {
        Some(t) => wait_duration(t).map_err(|e| StepError::new(format!("ssh_timeout: {e}")))?,
        None => std::time::Duration::ZERO,
    };
    // Packer's default, also for an explicit zero.
    let timeout = if timeout.is_zero() {
        std::time::Duration::from_secs(300)
    } else {
        timeout
    };
    let keep_alive = match c.ssh_keep_alive_interval.as_str() {
        "" => Some(std::time::Duration::from_secs(5)),
        t if t.starts_with('-') => None,
        t => match wait_duration(t)
            .map_err(|e| StepError::new(format!("ssh_keep_alive_interval: {e}")))?
        {
            d if d.is_zero() => None,
            d => Some(d),
        },
    };
    Ok(ssh::Target {
        host: c.ssh_host.clone(),
        port: if c.ssh_port == 0 { 22 } else { c.ssh_port },
        user: c.ssh_username.clone(),
        auth,
        timeout,
        handshake_attempts: if c.ssh_handshake_attempts == 0 {
            10
        } else {
            c.ssh_handshake_attempts
        },
        pty: c.ssh_pty,
        keep_alive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::decode::decode;
    use crate::body::AttrValue;
    use crate::plugins::sdk::Config as _;
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
