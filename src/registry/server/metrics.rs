//! `/metrics` in Prometheus's text format (0.0.4): requests by route and status, and latency
//! histograms by route. Routes are their templates (`/v1/buckets/{bucket}`), never the paths
//! asked for, so no name a client sent ends up in a label.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// What the server has answered since it started.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → latency histogram.
    latency: BTreeMap<(String, String), Histogram>,
}

#[derive(Default)]
struct Histogram {
    /// Observations at or under each bound of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *c.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let h = c
            .latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The exposition, with `extra` (gauges of the store) appended.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP kiln_http_requests_total Requests answered, by method, route and status.\n",
        );
        out.push_str("# TYPE kiln_http_requests_total counter\n");
        for ((method, route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "kiln_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP kiln_http_request_duration_seconds Time to answer, by method and route.\n",
        );
        out.push_str("# TYPE kiln_http_request_duration_seconds histogram\n");
        for ((method, route), h) in &c.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "kiln_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "kiln_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "kiln_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "kiln_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

/// A label value as the format escapes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The middleware that counts every request.
pub async fn count(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unrouted)".to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn serve(State(r): State<super::Registry>) -> Response {
    let body = r.metrics.render(&[]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histograms_render_in_prometheus_text_format() {
        let m = Metrics::default();
        m.record("GET", "/v1/buckets/{bucket}", 200, 0.002);
        m.record("GET", "/v1/buckets/{bucket}", 200, 0.3);
        m.record("GET", "/v1/buckets/{bucket}", 404, 0.0001);
        let text = m.render(&[("kiln_store_up", "Whether the store answers.", 1.0)]);
        assert!(text.contains(
            "kiln_http_requests_total{method=\"GET\",route=\"/v1/buckets/{bucket}\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "kiln_http_requests_total{method=\"GET\",route=\"/v1/buckets/{bucket}\",status=\"404\"} 1"
        ));
        let labels = "method=\"GET\",route=\"/v1/buckets/{bucket}\"";
        assert!(text.contains(&format!(
            "kiln_http_request_duration_seconds_bucket{{{labels},le=\"0.0025\"}} 2"
        )));
        assert!(text.contains(&format!(
            "kiln_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3"
        )));
        assert!(text.contains(&format!(
            "kiln_http_request_duration_seconds_count{{{labels}}} 3"
        )));
        assert!(text.contains("# TYPE kiln_store_up gauge\nkiln_store_up 1"));
    }
}
