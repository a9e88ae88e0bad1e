//! Provisioner `breakpoint`: pauses the build until the user presses enter.

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::sdk::{Provisioner, StepContext, StepError, StepFuture};
use serde::Deserialize;

/// The breakpoint provisioner's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Shown while paused.
    pub note: String,
    /// Skip the pause.
    pub disable: bool,
}

impl crate::plugins::sdk::Config for Config {
    /// Packer checks nothing here.
    fn validate(&self, _body: &BodyValue) -> Vec<Diagnostic> {
        Vec::new()
    }
}

impl Provisioner for Config {
    /// Pause until the user presses enter (a terminal only; elsewhere the pause is skipped).
    fn provision<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            if self.disable {
                cx.say("Breakpoint provisioner disabled; continuing");
                return Ok(());
            }
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() {
                cx.say(&format!(
                    "Breakpoint skipped: there is no terminal to wait on ({})",
                    self.note
                ));
                return Ok(());
            }
            let _prompt = cx.host.prompt().lock().await;
            cx.say(&format!(
                "Pausing at breakpoint provisioner with note \"{}\". Press enter to continue.",
                self.note
            ));
            cx.activity("waiting for enter");
            let read = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map(|_| ())
            });
            tokio::select! {
                _ = read => Ok(()),
                _ = cx.cancel.cancelled() => Err(StepError::cancelled()),
            }
        })
    }
}
