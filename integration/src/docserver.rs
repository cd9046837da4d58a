//! A controllable document server on 127.0.0.1 for JWKS and revocation endpoints: it serves a
//! body with a status, can return garbage, hang past the caller's timeout, or be down (stopped,
//! then started again on the same port). It counts the requests it answered. A path can be
//! given its own behaviour ([`DocServer::set_path`]), so one server can serve a discovery
//! document and the key set it names.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200` with this JSON body.
    Serve(String),
    /// This status and body.
    Status(u16, String),
    /// Accept the request and never answer (until stopped).
    Hang,
}

struct Shared {
    behaviour: Mutex<Behaviour>,
    paths: Mutex<Vec<(String, Behaviour)>>,
    served: AtomicUsize,
    stop: AtomicBool,
}

/// A running document server.
pub struct DocServer {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A free port on 127.0.0.1 (bound then released; a later bind may race, which tests tolerate).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl DocServer {
    /// Starts on `port` (0 for any).
    pub fn start(port: u16, behaviour: Behaviour) -> std::io::Result<DocServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(behaviour),
            paths: Mutex::new(Vec::new()),
            served: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("docserver-{port}"))
            .spawn(move || accept_loop(listener, inner))?;
        Ok(DocServer {
            port,
            shared,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Changes what it answers from now on.
    pub fn set(&self, behaviour: Behaviour) {
        if let Ok(mut b) = self.shared.behaviour.lock() {
            *b = behaviour;
        }
    }

    /// Changes what it answers for requests whose path (with the query) is `path`; other paths
    /// get the behaviour of [`DocServer::set`].
    pub fn set_path(&self, path: &str, behaviour: Behaviour) {
        if let Ok(mut paths) = self.shared.paths.lock() {
            paths.retain(|(p, _)| p != path);
            paths.push((path.to_string(), behaviour));
        }
    }

    /// Requests answered so far.
    pub fn served(&self) -> usize {
        self.shared.served.load(Ordering::SeqCst)
    }

    /// Stops listening (the port is closed: callers get connection refused).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DocServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let inner = shared.clone();
                let _ = std::thread::Builder::new()
                    .name("docserver-conn".into())
                    .spawn(move || serve(stream, inner));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        // Read one request head (GET, no body); keep the connection alive.
        let mut head_done = false;
        let mut saw_any = false;
        let mut target = String::new();
        while !head_done {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if !saw_any {
                        target = line.split(' ').nth(1).unwrap_or_default().to_string();
                    }
                    saw_any = true;
                    head_done = line == "\r\n" || line == "\n";
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    continue;
                }
                Err(_) => return,
            }
        }
        if !saw_any {
            return;
        }
        let for_path = shared.paths.lock().ok().and_then(|paths| {
            paths
                .iter()
                .find(|(p, _)| *p == target)
                .map(|(_, b)| b.clone())
        });
        let behaviour = for_path.unwrap_or_else(|| {
            shared
                .behaviour
                .lock()
                .map(|b| b.clone())
                .unwrap_or(Behaviour::Status(500, String::new()))
        });
        let (status, body) = match behaviour {
            Behaviour::Serve(body) => (200, body),
            Behaviour::Status(code, body) => (code, body),
            Behaviour::Hang => {
                while !shared.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
        shared.served.fetch_add(1, Ordering::SeqCst);
    }
}
