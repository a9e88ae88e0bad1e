//! A small loopback proxy in front of moto that answers the first calls of one EC2 action with
//! an error (`RequestLimitExceeded`, as EC2 does when throttling, or any other), and counts
//! every call by action.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Which calls the proxy refuses, and how.
#[derive(Clone, Copy)]
pub struct Rule {
    /// The EC2 action (`RunInstances`).
    pub action: &'static str,
    /// Only calls to this region, when set.
    pub region: Option<&'static str>,
    /// How many calls to refuse.
    pub times: usize,
    /// The HTTP status and the EC2 error code of the refusal.
    pub status: u16,
    pub code: &'static str,
}

/// The proxy: its port, and what it has seen.
pub struct Throttle {
    pub port: u16,
    calls: Arc<Mutex<BTreeMap<String, usize>>>,
    /// Calls of the throttled action so far.
    throttled: Arc<Mutex<usize>>,
    times: usize,
}

impl Throttle {
    /// Forward to moto on `upstream`, throttling the first `times` calls of `action`.
    pub fn start(upstream: u16, action: &'static str, times: usize) -> Throttle {
        Throttle::with(
            upstream,
            Rule {
                action,
                region: None,
                times,
                status: 503,
                code: "RequestLimitExceeded",
            },
        )
    }

    /// Forward to moto on `upstream`, refusing the calls `rule` names.
    pub fn with(upstream: u16, rule: Rule) -> Throttle {
        let times = rule.times;
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let calls = Arc::new(Mutex::new(BTreeMap::new()));
        let throttled = Arc::new(Mutex::new(0));
        let (c, t) = (calls.clone(), throttled.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (c, t) = (c.clone(), t.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, rule, &c, &t);
                });
            }
        });
        Throttle {
            port,
            calls,
            throttled,
            times,
        }
    }

    /// Calls seen, by EC2 action.
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.calls.lock().expect("the proxy's counts").clone()
    }

    /// How many calls it answered with `RequestLimitExceeded`.
    pub fn throttled(&self) -> usize {
        (*self.throttled.lock().expect("the proxy's counts")).min(self.times)
    }
}

/// One connection: each request is forwarded, or refused as throttled.
fn serve(
    client: TcpStream,
    upstream: u16,
    rule: Rule,
    calls: &Mutex<BTreeMap<String, usize>>,
    throttled: &Mutex<usize>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
        let mut region = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if let Some(v) = lower.strip_prefix("authorization:") {
                // Credential=KEY/DATE/REGION/ec2/aws4_request
                region = v.split('/').nth(2).unwrap_or_default().to_string();
            }
            if !lower.starts_with("connection:") {
                head.push(line);
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        let text = String::from_utf8_lossy(&body);
        let name = text
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap_or("?")
            .to_string();
        *calls
            .lock()
            .expect("counts")
            .entry(name.clone())
            .or_default() += 1;
        let refuse = name == rule.action && rule.region.is_none_or(|r| r == region) && {
            let mut t = throttled.lock().expect("counts");
            *t += 1;
            *t <= rule.times
        };
        if refuse {
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>Refused by the test's proxy.</Message></Error></Errors><RequestID>kiln-test</RequestID></Response>",
                rule.code
            );
            write!(
                client,
                "HTTP/1.1 {} Refused\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                rule.status,
                xml.len()
            )?;
            continue;
        }
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        for line in &head {
            up.write_all(line.as_bytes())?;
        }
        up.write_all(b"Connection: close\r\n\r\n")?;
        up.write_all(&body)?;
        let mut response = Vec::new();
        up.read_to_end(&mut response)?;
        client.write_all(&response)?;
        // moto answered `Connection: close`: the client opens a new connection for the next.
        return Ok(());
    }
}
