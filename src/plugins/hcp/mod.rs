//! The registry's plugins: the `hcp-packer-publish` post-processor and the
//! `hcp-packer-version` / `hcp-packer-artifact` data sources (with their deprecated names).

/// The registry's data sources: what they read, and that kiln cannot read them during a build
/// yet.
macro_rules! registry_data_source {
    ($config:ty, $name:literal, $summary:literal) => {
        impl crate::plugins::sdk::DataSource for $config {
            fn summary(&self, _body: &crate::body::BodyValue) -> String {
                $summary.into()
            }

            fn unsupported(&self) -> Option<String> {
                Some(
                    concat!(
                        "kiln cannot read the ",
                        $name,
                        " data source during a build yet"
                    )
                    .into(),
                )
            }

            fn read<'a>(
                &'a self,
                _cx: crate::plugins::sdk::StepContext<'a>,
            ) -> crate::plugins::sdk::StepFuture<'a, crate::value::Value> {
                Box::pin(async {
                    Err(crate::plugins::sdk::StepError::new(concat!(
                        "kiln cannot read the ",
                        $name,
                        " data source during a build yet"
                    )))
                })
            }
        }
    };
}
use registry_data_source;

pub mod artifact;
pub mod publish;
pub mod version;
