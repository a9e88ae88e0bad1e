//! A small loopback proxy in front of moto that answers the first calls of one EC2 action with
//! `RequestLimitExceeded`, as EC2 does when throttling, and counts every call by action.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

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
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let calls = Arc::new(Mutex::new(BTreeMap::new()));
        let throttled = Arc::new(Mutex::new(0));
        let (c, t) = (calls.clone(), throttled.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (c, t) = (c.clone(), t.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, upstream, action, times, &c, &t);
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
    action: &str,
    times: usize,
    calls: &Mutex<BTreeMap<String, usize>>,
    throttled: &Mutex<usize>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    loop {
        let mut head = Vec::new();
        let mut length = 0usize;
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
        let refuse = name == action && {
            let mut t = throttled.lock().expect("counts");
            *t += 1;
            *t <= times
        };
        if refuse {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>kiln-test</RequestID></Response>";
            write!(
                client,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
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
