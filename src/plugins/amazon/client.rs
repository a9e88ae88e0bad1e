//! The EC2 client the Amazon plugins share: credentials from the template or the usual chain,
//! the endpoint from `custom_endpoint_ec2` or `AWS_ENDPOINT_URL(_EC2)`, the SDK's retries with
//! jittered backoff on throttling and server errors, API failures as step errors, and waits
//! that poll fast first and then back off.

use crate::plugins::amazon::types::AwsPolling;
use crate::plugins::sdk::{StepContext, StepError};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::Client;
use std::future::Future;
use std::time::{Duration, Instant};

/// How a plugin reaches AWS: the access fields every Amazon config has.
#[derive(Clone, Copy, Debug)]
pub struct Access<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub token: &'a str,
    pub profile: &'a str,
    pub custom_endpoint_ec2: &'a str,
    pub max_retries: i64,
}

/// The access fields of a config built with `amazon_access_fields`.
macro_rules! access_of {
    ($config:expr) => {
        $crate::plugins::amazon::client::Access {
            access_key: &$config.access_key,
            secret_key: &$config.secret_key,
            token: &$config.token,
            profile: &$config.profile,
            custom_endpoint_ec2: &$config.custom_endpoint_ec2,
            max_retries: $config.max_retries,
        }
    };
}
pub(crate) use access_of;

/// The tag every resource a run creates carries, with the run's ID as its value.
pub const RUN_TAG: &str = "kiln:run";

/// The EC2 endpoint: the template's, else the environment's; `None` for AWS itself.
pub fn endpoint(access: &Access<'_>) -> Option<String> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(access.custom_endpoint_ec2.to_string())
        .filter(|e| !e.is_empty())
        .or_else(|| from_env("AWS_ENDPOINT_URL_EC2"))
        .or_else(|| from_env("AWS_ENDPOINT_URL"))
}

/// An EC2 client for `region`. The template's keys are registered as secrets first.
pub async fn connect(
    cx: &StepContext<'_>,
    access: &Access<'_>,
    region: &str,
) -> Result<Client, StepError> {
    cx.add_secret(access.secret_key);
    cx.add_secret(access.token);
    connect_to(access, region).await
}

/// An EC2 client for `region`, outside a build (`kiln cleanup`).
pub async fn connect_to(access: &Access<'_>, region: &str) -> Result<Client, StepError> {
    use aws_config::{BehaviorVersion, Region};
    if region.is_empty() {
        return Err(StepError::new(
            "no region: set `region` in the template (or AWS_REGION)",
        ));
    }
    let endpoint = endpoint(access);
    let http = match &endpoint {
        Some(e) if e.starts_with("http://") => aws_smithy_http_client::Builder::new().build_http(),
        _ => https_client()?,
    };
    let attempts = if access.max_retries > 0 {
        u32::try_from(access.max_retries + 1).unwrap_or(u32::MAX)
    } else {
        5
    };
    let retry = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(region.to_string()))
        .retry_config(retry);
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if !access.access_key.is_empty() {
        let token = Some(access.token.to_string()).filter(|t| !t.is_empty());
        loader = loader.credentials_provider(aws_sdk_ec2::config::Credentials::new(
            access.access_key,
            access.secret_key,
            token,
            None,
            "template",
        ));
    } else if !access.profile.is_empty() {
        loader = loader.profile_name(access.profile);
    }
    let config = aws_sdk_ec2::config::Builder::from(&loader.load().await)
        .interceptor(LogCalls)
        .build();
    Ok(Client::from_conf(config))
}

/// Logs each EC2 call attempt (`PACKER_LOG=1`): the operation, which attempt, how long it
/// took, and the HTTP status or the failure. Requests and responses are not logged.
#[derive(Debug)]
struct LogCalls;

/// When the current attempt started, and its number.
#[derive(Debug, Clone)]
struct Attempt(std::time::Instant, u32);

impl aws_smithy_types::config_bag::Storable for Attempt {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_sdk_ec2::config::Intercept for LogCalls {
    fn name(&self) -> &'static str {
        "kiln::log"
    }

    fn read_before_attempt(
        &self,
        _context: &aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_ec2::config::RuntimeComponents,
        cfg: &mut aws_sdk_ec2::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let number = cfg.load::<Attempt>().map_or(1, |a| a.1 + 1);
        cfg.interceptor_state()
            .store_put(Attempt(std::time::Instant::now(), number));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &aws_sdk_ec2::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _components: &aws_sdk_ec2::config::RuntimeComponents,
        cfg: &mut aws_sdk_ec2::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let (elapsed, attempt) = cfg
            .load::<Attempt>()
            .map(|a| (a.0.elapsed(), a.1))
            .unwrap_or_default();
        let status = context.response().map(|r| r.status().as_u16());
        let failed = context.output_or_error().is_some_and(|r| r.is_err());
        tracing::debug!(operation, attempt, ?elapsed, ?status, failed, "EC2 call");
        Ok(())
    }
}

/// The HTTPS client every EC2 client of the process shares (rustls, the system's trusted
/// certificates, which `SSL_CERT_FILE` or `SSL_CERT_DIR` replace).
fn https_client() -> Result<aws_sdk_ec2::config::SharedHttpClient, StepError> {
    use aws_smithy_http_client::tls;
    use std::sync::OnceLock;
    static CLIENT: OnceLock<Result<aws_sdk_ec2::config::SharedHttpClient, String>> =
        OnceLock::new();
    let made = CLIENT.get_or_init(|| {
        // Without one trusted certificate every TLS connection fails, with a less useful error.
        if rustls_native_certs::load_native_certs().certs.is_empty() {
            return Err("no trusted CA certificates found for TLS to EC2: install the system's CA certificates (Debian: ca-certificates), or name a PEM file in SSL_CERT_FILE".to_string());
        }
        let context = tls::TlsContext::builder()
            .with_trust_store(tls::TrustStore::default())
            .build()
            .map_err(|e| format!("cannot set up TLS for EC2: {e}"))?;
        Ok(aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .tls_context(context)
            .build_https())
    });
    made.clone().map_err(StepError::new)
}

/// An API call's failure as a step error: what kiln was doing, AWS's code and message.
/// Throttling and server errors that outlived the SDK's retries are retryable.
pub fn api_error<E, R>(what: &str, error: SdkError<E, R>) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let reason = match &error {
        SdkError::ServiceError(e) => {
            let err = e.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => err.to_string(),
            }
        }
        SdkError::DispatchFailure(e) => {
            let mut cause = causes(&error);
            if untrusted_certificate(&error) {
                cause.push_str("; a private CA is trusted when SSL_CERT_FILE names its PEM file");
            }
            if e.is_io() || e.is_timeout() {
                format!("the endpoint could not be reached ({cause})")
            } else {
                format!("the request could not be sent ({cause})")
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".into(),
        SdkError::ResponseError(_) => "the response could not be read".into(),
        SdkError::ConstructionFailure(_) => {
            let cause = causes(&error);
            format!("the request could not be built ({cause})")
        }
        other => other.to_string(),
    };
    let transient = match &error {
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or_default();
            aws_runtime_throttling(code)
        }
        // A certificate that is not trusted stays so: no retry.
        SdkError::DispatchFailure(_) => !untrusted_certificate(&error),
        SdkError::TimeoutError(_) => true,
        _ => false,
    };
    let message = format!("cannot {what}: {reason}");
    if transient {
        StepError::retryable(message)
    } else {
        StepError::new(message)
    }
}

/// The errors beneath `error`, each `io::Error`'s payload included: `io::Error::source` skips
/// the error it wraps, and hyper-rustls nests rustls's error two `io::Error`s deep.
fn chain<'a>(
    error: &'a dyn std::error::Error,
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(error.source(), |&e| {
        match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        }
    })
}

/// What went wrong beneath `error`, each cause of its chain once: "io error: invalid peer
/// certificate: UnknownIssuer" rather than "io error".
fn causes(error: &dyn std::error::Error) -> String {
    let mut said: Vec<String> = Vec::new();
    for e in chain(error) {
        let text = e.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
    }
    said.join(": ")
}

/// Whether TLS refused the endpoint's certificate somewhere beneath `error`.
fn untrusted_certificate(error: &dyn std::error::Error) -> bool {
    chain(error).any(|e| {
        matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        )
    })
}

/// Error codes that say "slow down" or "try again later".
fn aws_runtime_throttling(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "RequestThrottled"
            | "InternalError"
            | "ServiceUnavailable"
            | "Unavailable"
    )
}

/// The AWS error code of a failed call, if the service answered.
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// How often and how long a wait polls.
#[derive(Clone, Copy, Debug)]
pub struct Polling {
    /// `aws_polling.delay_seconds`: a fixed delay; adaptive (fast first) when `None`.
    delay: Option<Duration>,
    /// `aws_polling.max_attempts`; bounded by `limit` when `None`.
    max_attempts: Option<u64>,
    /// How long a wait may take in all when no attempt count is set.
    limit: Duration,
}

impl Polling {
    /// The template's `aws_polling`, or kiln's adaptive default.
    pub fn new(settings: Option<&AwsPolling>) -> Polling {
        let positive = |n: i64| u64::try_from(n).ok().filter(|n| *n > 0);
        Polling {
            delay: settings
                .and_then(|p| positive(p.delay_seconds))
                .map(Duration::from_secs),
            max_attempts: settings.and_then(|p| positive(p.max_attempts)),
            limit: Duration::from_secs(60 * 60),
        }
    }

    /// The same polling, giving up after `limit` when no attempt count is set.
    pub fn within(self, limit: Duration) -> Polling {
        Polling { limit, ..self }
    }

    /// The pause after attempt `n` (from 0): 50 ms, then half as long again each time, up to
    /// 5 s, so a resource that is ready at once costs one short wait.
    fn delay(&self, n: u32) -> Duration {
        if let Some(d) = self.delay {
            return d;
        }
        let ms = 50.0 * 1.5f64.powi(n.min(20) as i32);
        Duration::from_millis(ms.min(5000.0) as u64)
    }

    /// Call `check` until it returns a value, the attempts or the time run out, or the step is
    /// cancelled. `what` says what is awaited ("the instance to run").
    pub async fn wait<T, F, Fut>(
        &self,
        cx: &StepContext<'_>,
        what: &str,
        check: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, StepError>>,
    {
        cx.activity(&format!("waiting for {what}"));
        self.poll(cx.cancel, what, check).await
    }

    /// [`Polling::wait`] outside a step: cancelled by `cancel`.
    pub async fn poll<T, F, Fut>(
        &self,
        cancel: &tokio_util::sync::CancellationToken,
        what: &str,
        mut check: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, StepError>>,
    {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            if let Some(value) = check().await? {
                return Ok(value);
            }
            let exhausted = match self.max_attempts {
                Some(max) => u64::from(attempt) + 1 >= max,
                None => started.elapsed() >= self.limit,
            };
            if exhausted {
                return Err(StepError::TimedOut {
                    what: format!("waiting for {what}"),
                    after: started.elapsed(),
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(self.delay(attempt)) => {}
                _ = cancel.cancelled() => return Err(StepError::cancelled()),
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_starts_fast_and_backs_off_to_a_ceiling() {
        let p = Polling::new(None);
        assert_eq!(p.delay(0), Duration::from_millis(50));
        assert_eq!(p.delay(1), Duration::from_millis(75));
        assert!(p.delay(5) > p.delay(4));
        assert_eq!(p.delay(40), Duration::from_secs(5));
    }

    #[test]
    fn aws_polling_fixes_the_delay() {
        let settings = AwsPolling {
            delay_seconds: 2,
            max_attempts: 3,
        };
        let p = Polling::new(Some(&settings));
        assert_eq!(p.delay(0), Duration::from_secs(2));
        assert_eq!(p.max_attempts, Some(3));
    }

    #[test]
    fn throttling_codes_are_transient() {
        assert!(aws_runtime_throttling("RequestLimitExceeded"));
        assert!(!aws_runtime_throttling("InvalidAMIID.NotFound"));
    }
}
