//! A tiny HTTP/1.1 upstream running in the test process.
//!
//! Every request is answered with `200`, header `x-echo: upstream` and a JSON body
//! `{"method":..,"path":..,"headers":[[name,value],..],"body":..}` listing what it received.
//! Connections are kept alive (Envoy pools upstream connections). Every request is also
//! recorded so tests can check what reached (or did not reach) the upstream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as seen by the upstream.
#[derive(Debug, Clone)]
pub struct EchoRequest {
    pub method: String,
    pub path: String,
    /// Header names lowercased, in order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl EchoRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<EchoRequest>>>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    pub fn start() -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let thread = std::thread::Builder::new()
            .name("echo-upstream".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let requests = requests2.clone();
                    let stop = stop2.clone();
                    let _ = std::thread::Builder::new()
                        .name("echo-conn".into())
                        .spawn(move || serve_connection(conn, &requests, &stop));
                }
            })?;
        Ok(EchoServer {
            addr,
            stop,
            requests,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Number of requests received so far.
    pub fn count(&self) -> usize {
        self.requests.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// All requests received so far.
    pub fn requests(&self) -> Vec<EchoRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unblock accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_connection(conn: TcpStream, requests: &Mutex<Vec<EchoRequest>>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Some(req) = read_request(&mut reader) else {
            return;
        };
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = serde_json::json!({
            "method": req.method,
            "path": req.path,
            "headers": req.headers.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect::<Vec<_>>(),
            "body": String::from_utf8_lossy(&req.body),
        })
        .to_string();
        let is_head = req.method.eq_ignore_ascii_case("HEAD");
        if let Ok(mut r) = requests.lock() {
            r.push(req);
        }
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-echo: upstream\r\ncontent-length: {}\r\n{}\r\n",
            body.len(),
            if close { "connection: close\r\n" } else { "" }
        )
        .into_bytes();
        if !is_head {
            resp.extend_from_slice(body.as_bytes());
        }
        if writer.write_all(&resp).is_err() || writer.flush().is_err() || close {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<EchoRequest> {
    let mut line = String::new();
    // Skip stray empty lines between requests.
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        // Header values may carry obs-text bytes (not UTF-8): read bytes, keep them lossily.
        let mut raw = Vec::new();
        if reader.read_until(b'\n', &mut raw).ok()? == 0 {
            return None;
        }
        let h = String::from_utf8_lossy(&raw);
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size_line = String::new();
            if reader.read_line(&mut size_line).ok()? == 0 {
                return None;
            }
            let size_str = size_line
                .trim()
                .split(';')
                .next()
                .unwrap_or("0")
                .to_string();
            let size = usize::from_str_radix(size_str.trim(), 16).ok()?;
            if size == 0 {
                // Trailers until empty line.
                loop {
                    let mut t = String::new();
                    if reader.read_line(&mut t).ok()? == 0 || t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0u8; size];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            reader.read_line(&mut crlf).ok()?;
        }
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0u8; len];
        reader.read_exact(&mut body).ok()?;
    }
    Some(EchoRequest {
        method,
        path,
        headers,
        body,
    })
}
