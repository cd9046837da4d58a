//! Minimal HTTP/1.1 client: one request per connection (`Connection: close`), the request
//! line and header list are sent verbatim (duplicate headers and odd paths allowed).

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Sent verbatim as the request target.
    pub path: String,
    /// Sent verbatim, in order. A `Host` header is added unless one is present.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Request {
        Request::new("GET", path)
    }

    pub fn post(path: &str) -> Request {
        Request::new("POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Request {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn body(mut self, body: &[u8]) -> Request {
        self.body = body.to_vec();
        self
    }

    /// All header values with this (case-insensitive) name.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            out.push_str("Host: localhost\r\n");
        }
        for (k, v) in &self.headers {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        let has_len = self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        if !has_len && (!self.body.is_empty() || matches!(self.method.as_str(), "POST" | "PUT")) {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sends the request to `addr` and reads the full response.
    pub fn send(&self, addr: SocketAddr) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(&self.to_bytes())?;
        stream.flush()?;
        // Read until the response is complete (Content-Length / final chunk) or the server
        // closes. Not waiting for EOF matters: Envoy delays closing after local replies
        // (delayed_close_timeout, 1 s) until the client closes.
        let head_request = self.method.eq_ignore_ascii_case("HEAD");
        let mut raw = Vec::new();
        let mut buf = [0u8; 16384];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if response_complete(&raw, head_request) {
                        break;
                    }
                }
                // A reset after a complete response is fine.
                Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        Response::parse(&raw, head_request)
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        for (k, v) in &self.headers {
            let shown = if v.len() > 48 {
                format!(
                    "{}…({} chars)",
                    &v[..v.char_indices().nth(40).map_or(v.len(), |(i, _)| i)],
                    v.len()
                )
            } else {
                v.clone()
            };
            write!(f, " [{k}: {shown}]")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lowercased names, in order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8], head_request: bool) -> std::io::Result<Response> {
        let bad = |m: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{m}: {:?}",
                    String::from_utf8_lossy(&raw[..raw.len().min(300)])
                ),
            )
        };
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| bad("no end of response head"))?;
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let rest = &raw[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let mut headers = Vec::new();
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(resp);
        }
        if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            resp.body = dechunk(rest).ok_or_else(|| bad("bad chunked body"))?;
        } else if let Some(len) = resp
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            if rest.len() < len {
                return Err(bad("truncated body"));
            }
            resp.body = rest[..len].to_vec();
        } else {
            resp.body = rest.to_vec();
        }
        Ok(resp)
    }

    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `reason` field of a JSON body.
    pub fn reason(&self) -> Option<String> {
        self.json()?.get("reason")?.as_str().map(str::to_string)
    }

    pub fn www_authenticate(&self) -> Option<&str> {
        self.header("www-authenticate")
    }
}

/// Whether `raw` holds a complete response (false when the body length is only known at EOF).
fn response_complete(raw: &[u8], head_request: bool) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        return true;
    }
    let body = &raw[end + 4..];
    for line in head.split("\r\n").skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim(), v.trim());
            if k == "content-length" {
                return v.parse::<usize>().is_ok_and(|len| body.len() >= len);
            }
            if k == "transfer-encoding" && v.contains("chunked") {
                return dechunk(body).is_some();
            }
        }
    }
    false
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let pos = data.windows(2).position(|w| w == b"\r\n")?;
        let size_line = std::str::from_utf8(&data[..pos]).ok()?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        data = &data[pos + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
