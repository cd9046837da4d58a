//! `workload-authz explain POLICY --method GET --path /x ...`: one request judged offline by the
//! filter's own engine; prints the decision record, the answer and every check. On a route with
//! an `mcp` block, `--body FILE` is the JSON-RPC message the filter reads before deciding.

use crate::policy;
use crate::TextOrJson;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Args;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use workload_authz_core::config::{ProviderId, RecordLevel};
use workload_authz_core::revocation::RevocationList;
use workload_authz_core::state::parse_fetched_jwks;
use workload_authz_core::{
    explain_with_body, render_denial, telemetry, Decision, GuestVerifier, NoConnection, Outcome,
    Policy, RequestView, RuntimeState, Step,
};

/// Arguments of `explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The policy: JSON or YAML (`-` reads standard input).
    pub policy: String,
    /// `:method` of the request.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// `:path` of the request (query included, as a client sends it).
    #[arg(long)]
    pub path: String,
    /// A request header `name:value` (repeatable; names are lowercased, as Envoy presents them).
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// `:authority` (default: a `host` header given with --header, else `localhost`).
    #[arg(long)]
    pub host: Option<String>,
    /// A bearer token, sent in the first header of the provider its `iss` names
    /// (`authorization: Bearer ...` by default).
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// A file holding the token.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<String>,
    /// A DPoP proof (RFC 9449; `mint --dpop-key ... --htu URL` makes one): sent as the `DPoP`
    /// header, and the token with the `DPoP` scheme (`authorization: DPoP ...`).
    #[arg(long, value_name = "PROOF")]
    pub dpop: Option<String>,
    /// `:scheme` of the request (what a proof's `htu` is compared with, with --host and --path).
    #[arg(long, default_value = "https")]
    pub scheme: String,
    /// The request body (`-` reads standard input): on a route with an `mcp` block, the
    /// JSON-RPC message the filter reads before deciding. Other routes never read it.
    #[arg(long, value_name = "FILE")]
    pub body: Option<String>,
    /// The time of the decision, in seconds since the Unix epoch (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<u64>,
    /// A JWKS for a provider with `remote_jwks` or `oidc_discovery`, as if fetched at --now:
    /// `FILE` (when one provider fetches its keys) or `PROVIDER=FILE` (repeatable).
    #[arg(long, value_name = "[PROVIDER=]FILE")]
    pub jwks: Vec<String>,
    /// A revocation document (`{"jti": [...], "subjects_revoked_before": {...}}`) as if fetched
    /// from the policy's `revocation` endpoint.
    #[arg(long, value_name = "FILE")]
    pub revoked: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

fn unix_now() -> Result<u64, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|e| e.to_string())
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Result<ExitCode, String> {
    let loaded = policy::load(&args.policy)?;
    let policy = match &loaded.compiled {
        Ok(policy) => policy,
        Err(errors) => {
            loaded.print_errors(errors, false);
            eprintln!(
                "{}: {} error(s): the filter refuses this policy, every request would be answered 503",
                loaded.source.path,
                errors.0.len()
            );
            return Ok(ExitCode::from(1));
        }
    };
    let now = match args.now {
        Some(now) => now,
        None => unix_now()?,
    };
    let mut notes = Vec::new();
    let state = runtime_state(policy, args, now, &mut notes)?;
    let mut headers = Vec::new();
    for raw in &args.headers {
        let Some((name, value)) = raw.split_once(':') else {
            return Err(format!("`--header {raw}`: expected NAME:VALUE"));
        };
        headers.push((
            name.trim().to_ascii_lowercase(),
            value.trim_start().to_string(),
        ));
    }
    let authority = match &args.host {
        Some(host) => host.clone(),
        None => headers
            .iter()
            .find(|(n, _)| n == "host" || n == ":authority")
            .map_or_else(|| "localhost".to_string(), |(_, v)| v.clone()),
    };
    headers.retain(|(n, _)| n != "host" && n != ":authority");
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.trim().to_string()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| format!("{file}: {e}"))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    if let Some(token) = &token {
        let (name, prefix) = match &args.dpop {
            Some(_) => ("authorization".to_string(), "DPoP ".to_string()),
            None => token_header(policy, token),
        };
        notes.push(format!("the token is sent as `{name}: {}<token>`", prefix));
        headers.push((name, format!("{prefix}{token}")));
    }
    if let Some(proof) = &args.dpop {
        notes.push("the proof is sent as `dpop: <proof>`".to_string());
        headers.push(("dpop".to_string(), proof.trim().to_string()));
    }
    headers.retain(|(n, _)| n != ":scheme");
    headers.insert(0, (":scheme".to_string(), args.scheme.clone()));
    coalesce_authorization(&mut headers);
    let body = match &args.body {
        Some(file) => {
            // A JSON-RPC body is sent as `application/json` (the filter requires the label):
            // assume it unless `-H content-type:...` says otherwise.
            if !headers.iter().any(|(n, _)| n == "content-type") {
                headers.push(("content-type".to_string(), "application/json".to_string()));
            }
            Some(read_body(file, &args.policy)?)
        }
        None => None,
    };
    let request = RequestView {
        method: &args.method,
        path: &args.path,
        authority: &authority,
        headers: &headers,
    };
    let (decision, steps) = explain_with_body(
        policy,
        &state,
        &request,
        &NoConnection,
        body.as_deref(),
        now,
        &GuestVerifier,
    );
    notes.extend(body_note(policy, &decision, &steps, body.as_deref()));
    let record = telemetry::record(&decision, policy);
    let denial = render_denial(&decision, &policy.realm);
    if decision.outcome == Outcome::ShadowDeny {
        notes.push(enforce_would_answer(&decision, &policy.realm));
    }
    let stripped: Vec<&str> = policy
        .stripped_headers
        .iter()
        .map(String::as_str)
        .filter(|h| headers.iter().any(|(n, _)| n == h))
        .collect();
    let route = decision
        .route
        .and_then(|id| policy.route(id).map(|r| (id, r)));
    let trace: Vec<Value> = steps
        .iter()
        .map(|s| {
            json!({
                "check": s.check,
                "result": if s.failed.is_some() { "fail" } else { "pass" },
                "reason": s.failed.map(|r| r.as_str()),
                "detail": s.detail,
            })
        })
        .collect();
    let answer = denial.as_ref().map(|d| {
        let headers: Map<String, Value> = d
            .headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        json!({
            "status": d.status,
            "headers": headers,
            "body": serde_json::from_str::<Value>(&d.body).unwrap_or_else(|_| json!(d.body)),
        })
    });
    let upstream = decision.proceeds().then(|| {
        json!({
            "set_headers": decision.upstream_headers.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "removed_headers": stripped.iter().map(|s| s.to_string()).chain(decision.drop_header.clone()).collect::<Vec<_>>(),
        })
    });
    // What Envoy's filter state holds afterwards (without the `wasm.` prefix): the typed record
    // as the object `%FILTER_STATE(..:TYPED)%` prints, or the text keys.
    let filter_state: Map<String, Value> = match policy.decision_record {
        RecordLevel::Struct => Map::from_iter([(
            telemetry::RECORD_PROPERTY.to_string(),
            telemetry::record(&decision, policy),
        )]),
        _ => telemetry::filter_state(&decision, policy)
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    };
    let out = json!({
        "policy": {"file": loaded.source.path, "hash": policy.hash},
        "request": {
            "method": args.method,
            "path": args.path,
            "authority": authority,
            "headers": headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
            "body_bytes": body.as_ref().map(Vec::len),
        },
        "now": now,
        "decision": decision.outcome.as_str(),
        "reason": decision.reason.as_str(),
        "mode": decision.mode.as_str(),
        "route": route.map(|(id, r)| json!({"index": id.index(), "action": r.action})),
        "proceeds": decision.proceeds(),
        "mcp": mcp_json(&decision),
        "status": denial.as_ref().map(|d| d.status),
        "answer": answer,
        "upstream": upstream,
        "record": record,
        "filter_state": filter_state,
        "trace": trace,
        "notes": notes,
    });
    match args.format {
        TextOrJson::Json => println!("{out:#}"),
        TextOrJson::Text => print_text(&out),
    }
    Ok(ExitCode::SUCCESS)
}

/// What a shadow denial would be answered in enforce mode (the route's `mode` flipped).
fn enforce_would_answer(decision: &Decision, realm: &str) -> String {
    let mut enforced = decision.clone();
    enforced.outcome = Outcome::Deny;
    match render_denial(&enforced, realm) {
        Some(answer) => format!(
            "shadow mode lets this request through; in enforce mode the filter would answer {} {} instead",
            answer.status,
            decision.reason.as_str()
        ),
        None => "shadow mode lets this request through".to_string(),
    }
}

/// Key sets for `remote_jwks` and `oidc_discovery` providers (from --jwks) and the revocation
/// list (from --revoked).
fn runtime_state(
    policy: &Policy,
    args: &ExplainArgs,
    now: u64,
    notes: &mut Vec<String>,
) -> Result<RuntimeState, String> {
    let mut state = RuntimeState::new(policy);
    let remote: Vec<ProviderId> = policy
        .providers_with_ids()
        .filter(|(_, p)| p.key_source.fetched_lifetime().is_some())
        .map(|(id, _)| id)
        .collect();
    let mut installed = Vec::new();
    for spec in &args.jwks {
        let named = spec
            .split_once('=')
            .and_then(|(name, file)| policy.provider_by_name(name).map(|id| (id, file)));
        let (id, file) = match (named, remote.as_slice()) {
            (Some(found), _) => found,
            (None, [only]) => (*only, spec.as_str()),
            (None, []) => {
                return Err(format!(
                    "`--jwks {spec}`: no provider of this policy uses remote_jwks or oidc_discovery"
                ))
            }
            (None, _) => {
                return Err(format!(
                    "`--jwks {spec}`: several providers fetch their keys; write PROVIDER=FILE"
                ))
            }
        };
        let name = policy.provider(id).map_or("", |p| p.name.as_str());
        if !remote.contains(&id) {
            return Err(format!(
                "`--jwks {spec}`: provider `{name}` uses local_jwks, not remote_jwks or oidc_discovery"
            ));
        }
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        let set =
            parse_fetched_jwks(&text, &policy.limits.jwks).map_err(|e| format!("{file}: {e}"))?;
        notes.push(format!(
            "provider `{name}`: key set from {file} ({} usable key(s)), as fetched at {now}",
            set.len()
        ));
        state.install_keys(id, set, now);
        installed.push(id);
    }
    for id in remote.iter().filter(|id| !installed.contains(id)) {
        if let Some(p) = policy.provider(*id) {
            notes.push(format!(
                "provider `{}` fetches its keys and no --jwks was given: its tokens are denied keys_unavailable",
                p.name
            ));
        }
    }
    match (&args.revoked, &policy.revocation) {
        (Some(file), endpoint) => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let list = RevocationList::parse(&text).map_err(|e| format!("{file}: {e}"))?;
            notes.push(match endpoint {
                Some(source) => format!(
                    "revocation list from {file} ({} entries), as if fetched from {}",
                    list.len(),
                    source.http_uri.uri
                ),
                None => format!(
                    "revocation list from {file} ({} entries); the policy has no revocation endpoint, so the filter would not have it",
                    list.len()
                ),
            });
            state.install_revocations(list);
        }
        (None, Some(source)) => {
            notes.push(format!(
                "the policy fetches revocations from {}; no --revoked given: an empty list is assumed (the filter answers revocation_unavailable until its first fetch)",
                source.http_uri.uri
            ));
            state.install_revocations(RevocationList::default());
        }
        (None, None) => {}
    }
    Ok(state)
}

/// The bytes of `--body FILE` (`-`: standard input, unless the policy is read from it).
fn read_body(file: &str, policy: &str) -> Result<Vec<u8>, String> {
    if file != "-" {
        return std::fs::read(file).map_err(|e| format!("{file}: {e}"));
    }
    if policy == "-" {
        return Err("`--body -`: the policy is read from standard input already".into());
    }
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| format!("standard input: {e}"))?;
    Ok(body)
}

/// What the decision says about the body: read and judged, awaited, or never read.
fn body_note(
    policy: &Policy,
    decision: &Decision,
    steps: &[Step],
    body: Option<&[u8]>,
) -> Option<String> {
    let route = decision.route.and_then(|i| policy.route(i).map(|r| (i, r)));
    let reached = steps.iter().any(|s| s.check == "mcp_body");
    let reason = decision.reason.as_str();
    match (route, body) {
        (None, Some(_)) => Some("no route matches: --body is not read".into()),
        (None, None) => None,
        (Some((i, r)), body) => match (r.mcp.as_deref(), body) {
            (None, None) => None,
            (None, Some(_)) => Some(format!(
                "routes[{i}] `{}` has no `mcp` block: the filter does not read the body, --body is ignored",
                r.action
            )),
            (Some(mcp), None) if reached => Some(format!(
                "routes[{i}] `{}` has an `mcp` block: the filter holds the request, reads its JSON-RPC body (at most {} bytes) and judges the message; no --body was given, so this is the header-time decision (`--body FILE` judges the message)",
                r.action, mcp.max_body_bytes
            )),
            (Some(_), None) => Some(format!(
                "routes[{i}] `{}` has an `mcp` block, but the request is decided ({reason}) before the filter reads its body (it does once the route's token checks pass)",
                r.action
            )),
            (Some(_), Some(_)) if !reached => Some(format!(
                "the request is decided ({reason}) before the filter reads its body: --body is not judged"
            )),
            (Some(_), Some(_)) => None,
        },
    }
}

/// The MCP facts of a decision on an MCP route (`null` elsewhere): what the message asks, never
/// its arguments (only their digest), and whether the body is still awaited.
fn mcp_json(decision: &Decision) -> Value {
    let Some(mcp) = decision.mcp.as_deref() else {
        return Value::Null;
    };
    json!({
        "awaiting_body": decision.awaiting_body,
        "parsed": mcp.parsed,
        "method": mcp.method,
        "name": mcp.name,
        "arguments_digest": mcp.arguments_digest,
        "id": mcp.id.as_deref().map(|id| serde_json::from_str::<Value>(id).unwrap_or_else(|_| json!(id))),
        "resource_metadata": mcp.resource_metadata,
    })
}

/// Envoy keeps `authorization` as one (inline) header: repeated ones reach the filter joined
/// with `,` (`Bearer a,Bearer b`), which the filter refuses as one malformed token.
fn coalesce_authorization(headers: &mut Vec<(String, String)>) {
    let values: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone())
        .collect();
    if values.len() > 1 {
        let first = headers.iter().position(|(n, _)| n == "authorization");
        headers.retain(|(n, _)| n != "authorization");
        let at = first.unwrap_or(0).min(headers.len());
        headers.insert(at, ("authorization".to_string(), values.join(",")));
    }
}

/// The header (and prefix) a client of the provider named by the token's `iss` sends it in.
fn token_header(policy: &Policy, token: &str) -> (String, String) {
    let issuer = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| {
            claims
                .get("iss")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    issuer
        .and_then(|iss| policy.provider_by_issuer(&iss))
        .and_then(|id| policy.provider(id))
        .and_then(|p| p.from_headers.first())
        .map_or_else(
            || ("authorization".to_string(), "Bearer ".to_string()),
            |s| (s.name.clone(), s.value_prefix.clone()),
        )
}

/// The `mcp:` line: the message read (method, name, arguments digest, id), or why there is none.
fn mcp_text(out: &Value, awaiting: Option<u64>) -> String {
    if let Some(max) = awaiting {
        return format!(
            "the route reads the JSON-RPC body (at most {max} bytes) and judges the message; not given (--body FILE)"
        );
    }
    if out.pointer("/mcp/parsed") != Some(&Value::Bool(true)) {
        let judged = list(out, "/trace")
            .iter()
            .any(|s| s.get("check").and_then(Value::as_str) == Some("mcp_body"));
        return if judged {
            format!(
                "no JSON-RPC message read from the body ({})",
                at(out, "/reason")
            )
        } else {
            "decided before the body is read".to_string()
        };
    }
    let mut parts = vec![format!("method `{}`", at(out, "/mcp/method"))];
    if out.pointer("/mcp/name").is_some_and(Value::is_string) {
        parts.push(format!("name `{}`", at(out, "/mcp/name")));
    }
    if out
        .pointer("/mcp/arguments_digest")
        .is_some_and(Value::is_string)
    {
        parts.push(format!("arguments {}", at(out, "/mcp/arguments_digest")));
    }
    parts.push(match out.pointer("/mcp/id") {
        None | Some(Value::Null) => "a notification (no id)".to_string(),
        Some(id) => format!("id {id}"),
    });
    parts.join(", ")
}

/// The text at a JSON pointer (`-` when absent or null).
fn at(value: &Value, pointer: &str) -> String {
    match value.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => "-".to_string(),
        Some(other) => other.to_string(),
    }
}

fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn print_text(out: &Value) {
    let body = match out.pointer("/request/body_bytes").and_then(Value::as_u64) {
        Some(bytes) => format!(", body {bytes} bytes"),
        None => String::new(),
    };
    println!(
        "request:  {} {} (authority {}) at {}{body}",
        at(out, "/request/method"),
        at(out, "/request/path"),
        at(out, "/request/authority"),
        at(out, "/now")
    );
    println!(
        "policy:   {} ({})",
        at(out, "/policy/hash"),
        at(out, "/policy/file")
    );
    println!(
        "decision: {} (reason {}, mode {})",
        at(out, "/decision"),
        at(out, "/reason"),
        at(out, "/mode")
    );
    if out.pointer("/route").is_some_and(Value::is_object) {
        println!(
            "route:    routes[{}] `{}`",
            at(out, "/route/index"),
            at(out, "/route/action")
        );
    } else {
        println!("route:    none");
    }
    let awaiting = out.pointer("/mcp/awaiting_body").and_then(Value::as_u64);
    if out.pointer("/mcp").is_some_and(Value::is_object) {
        println!("mcp:      {}", mcp_text(out, awaiting));
    }
    let mut label = "answer:  ";
    if awaiting.is_some() {
        println!("answer:   pending: the filter holds the request (nothing reaches the upstream) and reads its body; the header-time decision:");
        label = "         ";
    }
    if out.pointer("/answer").is_some_and(Value::is_object) {
        println!(
            "{label} {} (the filter replies; the upstream is not reached)",
            at(out, "/answer/status")
        );
        if let Some(headers) = out.pointer("/answer/headers").and_then(Value::as_object) {
            for (name, value) in headers {
                println!("          {name}: {}", value.as_str().unwrap_or_default());
            }
        }
        println!("          body: {}", at(out, "/answer/body"));
    } else {
        println!("{label} the request goes on to the upstream");
        for h in list(out, "/upstream/set_headers") {
            println!("          sets {}: {}", at(h, "/name"), at(h, "/value"));
        }
        for h in list(out, "/upstream/removed_headers") {
            println!("          removes {}", h.as_str().unwrap_or_default());
        }
    }
    println!("trace:");
    for step in list(out, "/trace") {
        let verdict = match step.get("reason").and_then(Value::as_str) {
            Some(reason) => format!("FAIL {reason}"),
            None => "ok".to_string(),
        };
        println!(
            "  {:<13} {:<26} {}",
            at(step, "/check"),
            verdict,
            at(step, "/detail")
        );
    }
    println!("record:   {}", at(out, "/record"));
    for note in list(out, "/notes") {
        println!("note:     {}", note.as_str().unwrap_or_default());
    }
}
