//! `envoy --bootstrap`: a complete static Envoy bootstrap that Envoy starts as is. A listener,
//! its HTTP connection manager with the filter entry `envoy` prints then the router, the JSON
//! access log of `envoy/access-log-format.json` (the decision record) on standard output, the
//! `stats_config` of `envoy/stats-config.json` (the metrics' tags), an admin listener on
//! 127.0.0.1, and the upstream cluster. The two shipped files are compiled in
//! (`include_str!`), so the bootstrap cannot drift from them.

use super::quoted;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;

/// `envoy/access-log-format.json`: the access log's `json_format`.
const ACCESS_LOG_FORMAT: &str = include_str!("../../../../envoy/access-log-format.json");
/// `envoy/stats-config.json`: the `stats_config` with the tag rules of the metrics.
const STATS_CONFIG: &str = include_str!("../../../../envoy/stats-config.json");

/// The default `--upstream`.
pub const DEFAULT_UPSTREAM: &str = "127.0.0.1:8080";
/// The default `--port` (the listener).
pub const DEFAULT_PORT: u16 = 10000;
/// The default `--admin-port`.
pub const DEFAULT_ADMIN_PORT: u16 = 9901;

/// Where the upstream cluster sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// An IP address (a `STATIC` cluster) or a DNS name (`STRICT_DNS`), without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// Why `--upstream` or the ports are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapError {
    /// `--upstream` is not `HOST:PORT` (`[IPV6]:PORT` for an IPv6 address).
    BadUpstream(String),
    /// `--port` and `--admin-port` are the same port.
    SamePorts(u16),
    /// A shipped file of `envoy/` is not the JSON object it should be.
    Shipped(&'static str),
}

impl fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootstrapError::BadUpstream(text) => write!(
                f,
                "`--upstream {text}`: expected HOST:PORT (a name or an IP address, `[IPV6]:PORT`, and a port from 1 to 65535)"
            ),
            BootstrapError::SamePorts(port) => write!(
                f,
                "`--port {port}` and `--admin-port {port}`: the listener and the admin listener need two ports"
            ),
            BootstrapError::Shipped(name) => {
                write!(f, "the built-in {name} is not a JSON object (a build problem)")
            }
        }
    }
}

impl std::error::Error for BootstrapError {}

impl Upstream {
    /// Parses `HOST:PORT` (`[::1]:8080` for an IPv6 address).
    pub fn parse(text: &str) -> Result<Upstream, BootstrapError> {
        let bad = || BootstrapError::BadUpstream(text.to_string());
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, port) = rest.split_once("]:").ok_or_else(bad)?;
                host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
                (host, port)
            }
            None => text.rsplit_once(':').ok_or_else(bad)?,
        };
        let bracketed = text.starts_with('[');
        let name_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'.' | b'-' | b'_')
                    || (bracketed && b == b':')
            });
        let port: u16 = port.parse().map_err(|_| bad())?;
        if !name_ok || port == 0 {
            return Err(bad());
        }
        Ok(Upstream {
            host: host.to_string(),
            port,
        })
    }

    /// `STATIC` for an IP address, `STRICT_DNS` for a name.
    fn cluster_type(&self) -> &'static str {
        if self.host.parse::<IpAddr>().is_ok() {
            "STATIC"
        } else {
            "STRICT_DNS"
        }
    }
}

/// What goes into a bootstrap besides the filter entry.
pub struct Bootstrap<'a> {
    /// The policy file, for the header comment.
    pub file: &'a str,
    /// The policy hash, for the header comment.
    pub hash: &'a str,
    /// Comment lines about the policy (inlined key sets), each starting with `# `.
    pub notes: &'a str,
    /// The `http_filters` entry of `envoy` (YAML, at column 0).
    pub filter_entry: &'a str,
    /// The upstream cluster's endpoint.
    pub upstream: &'a Upstream,
    /// The listener's port.
    pub port: u16,
    /// The admin listener's port.
    pub admin_port: u16,
}

/// A shipped JSON object, as YAML lines indented by `indent` spaces.
fn shipped_yaml(text: &str, name: &'static str, indent: usize) -> Result<String, BootstrapError> {
    let value: Value = serde_json::from_str(text).map_err(|_| BootstrapError::Shipped(name))?;
    if !value.is_object() {
        return Err(BootstrapError::Shipped(name));
    }
    let yaml = serde_norway::to_string(&value).map_err(|_| BootstrapError::Shipped(name))?;
    Ok(indented(&yaml, indent))
}

/// Every line of `text` indented by `indent` spaces, joined by line feeds (none at the end).
fn indented(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let lines: Vec<String> = text.lines().map(|line| format!("{pad}{line}")).collect();
    lines.join("\n")
}

/// The bootstrap, as YAML.
pub fn render(b: &Bootstrap<'_>) -> Result<String, BootstrapError> {
    if b.port == b.admin_port {
        return Err(BootstrapError::SamePorts(b.port));
    }
    let stats_config = shipped_yaml(STATS_CONFIG, "envoy/stats-config.json", 2)?;
    let log_format = shipped_yaml(ACCESS_LOG_FORMAT, "envoy/access-log-format.json", 18)?;
    let filters = indented(b.filter_entry, 10);
    let upstream = b.upstream;
    let host = quoted(&upstream.host);
    let endpoint = if upstream.host.contains(':') {
        format!("[{}]:{}", upstream.host, upstream.port)
    } else {
        format!("{}:{}", upstream.host, upstream.port)
    };
    Ok(format!(
        "\
# workload-authz: a complete static Envoy bootstrap with the policy of {file} (policy hash {hash}).
# Start it as is: envoy -c bootstrap.yaml
#   listener 0.0.0.0:{port} -> workload_authz -> router -> cluster `upstream` ({endpoint})
#   decision records: one JSON access-log line per request on standard output
#     (the fields of envoy/access-log-format.json; Envoy's own log goes to standard error)
#   metrics: http://127.0.0.1:{admin_port}/stats/prometheus, tagged by envoy/stats-config.json
{notes}\
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {admin_port} }}
stats_config:
{stats_config}
static_resources:
  listeners:
  - name: workload_authz
    address:
      socket_address: {{ address: 0.0.0.0, port_value: {port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
              log_format:
                json_format:
{log_format}
          route_config:
            name: local
            virtual_hosts:
            - name: upstream
              domains: [\"*\"]
              routes:
              - match: {{ prefix: \"/\" }}
                route: {{ cluster: upstream }}
          http_filters:
{filters}
          - name: envoy.filters.http.router
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: upstream
    type: {cluster_type}
    connect_timeout: 5s
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: {host}, port_value: {upstream_port} }}
",
        file = b.file,
        hash = b.hash,
        port = b.port,
        admin_port = b.admin_port,
        notes = b.notes,
        upstream_port = upstream.port,
        cluster_type = upstream.cluster_type(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn upstreams_are_host_and_port() {
        let up = |host: &str, port| Upstream {
            host: host.to_string(),
            port,
        };
        assert_eq!(Upstream::parse("127.0.0.1:8080"), Ok(up("127.0.0.1", 8080)));
        assert_eq!(Upstream::parse("orders.svc:80"), Ok(up("orders.svc", 80)));
        assert_eq!(Upstream::parse("[::1]:9000"), Ok(up("::1", 9000)));
        assert_eq!(up("::1", 1).cluster_type(), "STATIC");
        assert_eq!(up("orders.svc", 1).cluster_type(), "STRICT_DNS");
        for bad in [
            "",
            "orders",
            ":80",
            "orders:",
            "orders:0",
            "orders:65536",
            "::1:80",
            "[x]:80",
            "a b:80",
            "[::1]80",
        ] {
            assert!(Upstream::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_shipped_files_are_in_the_bootstrap() {
        let upstream = Upstream::parse(DEFAULT_UPSTREAM).unwrap();
        let text = render(&Bootstrap {
            file: "p.json",
            hash: "0123456789abcdef",
            notes: "",
            filter_entry: "- name: workload_authz\n  typed_config: {}\n",
            upstream: &upstream,
            port: DEFAULT_PORT,
            admin_port: DEFAULT_ADMIN_PORT,
        })
        .unwrap();
        let yaml: Value = serde_norway::from_str(&text).unwrap();
        let stats: Value = serde_json::from_str(STATS_CONFIG).unwrap();
        assert_eq!(yaml["stats_config"], stats);
        let hcm = &yaml["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"];
        let format: Value = serde_json::from_str(ACCESS_LOG_FORMAT).unwrap();
        assert_eq!(
            hcm["access_log"][0]["typed_config"]["log_format"]["json_format"],
            format
        );
        assert_eq!(hcm["http_filters"][0]["name"], "workload_authz");
        assert_eq!(hcm["http_filters"][1]["name"], "envoy.filters.http.router");
        let same = Bootstrap {
            file: "p.json",
            hash: "h",
            notes: "",
            filter_entry: "",
            upstream: &upstream,
            port: 9901,
            admin_port: 9901,
        };
        assert_eq!(render(&same), Err(BootstrapError::SamePorts(9901)));
    }
}
