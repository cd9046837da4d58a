//! Workload identity and agent context, natively: JWT-SVIDs, delegation chains, RFC 9396
//! authorization details, transaction tokens, transport binding, `typ` and request context.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use jwt_simple::prelude::*;
use serde_json::{json, Map, Value};
use workload_authz_core::{
    compile, explain_in, Decision, GuestVerifier, Policy, Reason, RequestView, RuntimeState,
    StaticConnection,
};

const TD: &str = "prod.example";
const SVID_ISS: &str = "https://spire.prod.example";

fn sign_typ(claims: &Value, typ: &str) -> String {
    let claims: JWTClaims<Map<String, Value>> = serde_json::from_value(claims.clone()).unwrap();
    let options = HeaderOptions {
        signature_type: Some(typ.to_string()),
        ..Default::default()
    };
    keys().es256.sign_with_options(claims, &options).unwrap()
}

fn agent_policy() -> Value {
    json!({
        "realm": "agents",
        "providers": {
            "spire": {
                "issuer": SVID_ISS, "audiences": ["orders"],
                "local_jwks": {"inline_string": jwks()},
                "spiffe": {"trust_domain": TD}
            },
            "txn": {
                "issuer": "https://txn.prod.example", "audiences": [TD],
                "local_jwks": {"inline_string": jwks()},
                "token_type": "txn_token"
            }
        },
        "routes": [
            {"action": "orders.read", "match": {"path": "/orders/{id}", "methods": ["GET"]},
             "require": {"subjects": ["spiffe://prod.example/ns/*/sa/*"],
                         "actor": {"subjects": ["spiffe://prod.example/ns/agents/sa/*"]},
                         "max_delegation_depth": 1}},
            {"action": "orders.direct", "match": {"path": "/direct/{id}"},
             "require": {"allow_delegation": false}},
            {"action": "payments.initiate", "match": {"path": "/accounts/{account}/payments", "methods": ["POST"]},
             "require": {"authorization_details": {"type": "payment_initiation", "actions": ["initiate"],
                          "locations": ["https://api.example/payments"], "identifier": "{account}"}}},
            {"action": "checkout", "match": {"path": "/checkout", "methods": ["POST"]},
             "require": {"providers": ["spire"], "transaction": {"provider": "txn", "purposes": ["checkout"]},
                         "claims": {"txn.tctx.amount": [10, 20]}}},
            {"action": "bound", "match": {"path": "/bound"}, "require": {"bind_peer": "spiffe_id"}},
            {"action": "at", "match": {"path": "/at"}, "require": {"typ": "at+jwt"}},
            {"action": "tenant", "match": {"path": "/tenant"},
             "require": {"claims": {"tenant": "{header.x-tenant}", "ip": "{source.address}"}}}
        ]
    })
}

fn svid(extra: Value) -> Value {
    let claims = json!({
        "iss": SVID_ISS, "aud": "orders", "sub": "spiffe://prod.example/ns/shop/sa/web",
        "iat": NOW - 10, "exp": NOW + 300
    });
    overlay(claims, &extra)
}

fn run(
    p: &Policy,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    conn: &StaticConnection,
) -> Decision {
    judge_in(p, method, path, headers, conn, NOW)
}

fn bearer(p: &Policy, method: &str, path: &str, token: &str) -> Decision {
    let value = format!("Bearer {token}");
    run(
        p,
        method,
        path,
        &[("authorization", &value)],
        &StaticConnection::default(),
    )
}

fn chain(depth: usize) -> Value {
    let mut act = Value::Null;
    for i in (0..depth).rev() {
        let mut this = json!({"sub": format!("spiffe://prod.example/ns/agents/sa/agent-{i}")});
        if !act.is_null() {
            this["act"] = act;
        }
        act = this;
    }
    act
}

#[test]
fn jwt_svid_rules() {
    let p = policy(&agent_policy());
    assert_eq!(
        bearer(&p, "GET", "/orders/1", &es256(&svid(json!({})))).reason,
        Reason::ActorNotAllowed
    );
    // sub outside the trust domain, not a SPIFFE ID, or with dot segments.
    for sub in [
        "spiffe://other.example/ns/shop/sa/web",
        "web@prod.example",
        "spiffe://prod.example/ns/../sa/web",
        "spiffe://prod.example",
    ] {
        let d = bearer(&p, "GET", "/direct/1", &es256(&svid(json!({"sub": sub}))));
        assert_eq!(d.reason, Reason::InvalidSvid, "{sub}");
    }
    // typ JOSE is fine, anything else is not.
    assert_eq!(
        bearer(&p, "GET", "/direct/1", &sign_typ(&svid(json!({})), "JOSE")).reason,
        Reason::Allowed
    );
    assert_eq!(
        bearer(
            &p,
            "GET",
            "/direct/1",
            &sign_typ(&svid(json!({})), "at+jwt")
        )
        .reason,
        Reason::InvalidSvid
    );
    // EdDSA is not a JWT-SVID algorithm.
    assert_eq!(
        bearer(&p, "GET", "/direct/1", &eddsa(&svid(json!({})))).reason,
        Reason::DisallowedAlgorithm
    );
    // exp is required even though the provider did not say so.
    assert_eq!(
        bearer(&p, "GET", "/direct/1", &es256(&svid(json!({"exp": null})))).reason,
        Reason::LifetimeExceeded
    );
}

#[test]
fn jwt_svid_needs_a_kid_and_a_signing_bundle_key() {
    let pair = ES256KeyPair::generate();
    let point = pair.public_key().public_key().to_bytes_uncompressed();
    let jwk = |usage: &str| {
        json!({"kty": "EC", "crv": "P-256", "use": usage, "kid": "b1",
        "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    };
    let claims: JWTClaims<Map<String, Value>> = serde_json::from_value(svid(json!({}))).unwrap();
    let without_kid = pair.sign(claims.clone()).unwrap();
    let with_kid = pair.with_key_id("b1").sign(claims).unwrap();
    for (usage, token, expected) in [
        ("jwt-svid", &with_kid, Reason::Allowed),
        ("jwt-svid", &without_kid, Reason::InvalidSvid),
        // SPIRE's OIDC Discovery Provider (`set_key_use`) and most JWKS endpoints say `sig`.
        ("sig", &with_kid, Reason::Allowed),
        ("sig", &without_kid, Reason::InvalidSvid),
        // Keys for another purpose are set aside, never used for a JWT-SVID.
        ("x509-svid", &with_kid, Reason::UnknownKey),
        ("enc", &with_kid, Reason::UnknownKey),
    ] {
        let mut value = agent_policy();
        // A bundle as SPIRE serves it: an X.509 authority beside the JWT ones.
        let x509 = json!({"kty": "EC", "crv": "P-256", "use": "x509-svid", "kid": "x1",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])});
        let mut other = jwk("jwt-svid");
        other["kid"] = json!("b2");
        value["providers"]["spire"]["local_jwks"]["inline_string"] =
            json!(json!({"keys": [jwk(usage), x509, other]}).to_string());
        let p = policy(&value);
        assert_eq!(
            bearer(&p, "GET", "/direct/1", token).reason,
            expected,
            "{usage}"
        );
    }
}

#[test]
fn delegation_chains_of_depth_zero_to_five() {
    let p = policy(&agent_policy());
    for depth in 0..=5 {
        let mut claims = svid(json!({}));
        if depth > 0 {
            claims["act"] = chain(depth);
        }
        let token = es256(&claims);
        let d = bearer(&p, "GET", "/orders/1", &token);
        let expected = match depth {
            0 => Reason::ActorNotAllowed,
            1 => Reason::Allowed,
            _ => Reason::DelegationTooDeep,
        };
        assert_eq!(d.reason, expected, "depth {depth}");
        assert_eq!(d.actor_chain.len(), depth);
        let direct = bearer(&p, "GET", "/direct/1", &token);
        let expected = if depth == 0 {
            Reason::Allowed
        } else {
            Reason::DelegationTooDeep
        };
        assert_eq!(
            direct.reason, expected,
            "allow_delegation false, depth {depth}"
        );
    }
    // The current actor (the outermost act) must match, not a prior one.
    let mut claims = svid(json!({}));
    claims["act"] = json!({"sub": "spiffe://prod.example/ns/tools/sa/x", "act": {"sub": "spiffe://prod.example/ns/agents/sa/a"}});
    let mut value = agent_policy();
    value["routes"][0]["require"]["max_delegation_depth"] = json!(3);
    value["decision_record"] = json!("keys");
    let p = policy(&value);
    let d = bearer(&p, "GET", "/orders/1", &es256(&claims));
    assert_eq!(d.reason, Reason::ActorNotAllowed);
    assert_eq!(
        d.actor_chain,
        vec![
            "spiffe://prod.example/ns/tools/sa/x",
            "spiffe://prod.example/ns/agents/sa/a"
        ]
    );
    let state = workload_authz_core::telemetry::filter_state(&d, &p);
    let chain_entry = state
        .iter()
        .find(|(k, _)| *k == "workload_authz.actor_chain")
        .unwrap();
    assert_eq!(
        chain_entry.1,
        "spiffe://prod.example/ns/tools/sa/x spiffe://prod.example/ns/agents/sa/a"
    );
    // A malformed act is refused.
    let mut bad = svid(json!({}));
    bad["act"] = json!({"client_id": "x"});
    assert_eq!(
        bearer(&p, "GET", "/direct/1", &es256(&bad)).reason,
        Reason::MalformedToken
    );
}

#[test]
fn rich_authorization_details() {
    let p = policy(&agent_policy());
    let detail = json!({"type": "payment_initiation", "actions": ["initiate", "status"],
                        "locations": ["https://api.example/payments"], "identifier": "acc-7"});
    let path = "/accounts/acc-7/payments";
    let ok = es256(&svid(json!({"authorization_details": [detail.clone()]})));
    assert_eq!(bearer(&p, "POST", path, &ok).reason, Reason::Allowed);
    assert_eq!(
        bearer(&p, "POST", "/accounts/acc-8/payments", &ok).reason,
        Reason::AuthorizationDetailsMismatch
    );
    let mut other = detail.clone();
    other["type"] = json!("account_information");
    let t = es256(&svid(json!({"authorization_details": [other]})));
    assert_eq!(
        bearer(&p, "POST", path, &t).reason,
        Reason::AuthorizationDetailsMismatch
    );
    let t = es256(&svid(json!({})));
    assert_eq!(
        bearer(&p, "POST", path, &t).reason,
        Reason::AuthorizationDetailsMismatch
    );
    let many = Value::Array(vec![detail; 17]);
    let t = es256(&svid(json!({"authorization_details": many})));
    assert_eq!(bearer(&p, "POST", path, &t).reason, Reason::MalformedToken);
}

fn txn_claims(extra: Value) -> Value {
    let claims = json!({
        "iss": "https://txn.prod.example", "aud": TD, "txn": "97053963-771d-49cc-a4e3-20aad399c312",
        "sub": "spiffe://prod.example/ns/shop/sa/web", "scope": "checkout", "req_wl": "gateway",
        "iat": NOW - 5, "exp": NOW + 60, "tctx": {"amount": 20}, "rctx": {"req_ip": "10.0.0.1"}
    });
    overlay(claims, &extra)
}

/// A transaction token gets the access token's checks (signature, time, audience, revocation),
/// is never put in the verified-token cache, and `explain` says which check refused it.
#[test]
fn transaction_token_checks_and_their_explanations() {
    let p = policy(&agent_policy());
    let state = RuntimeState::new(&p);
    let access = format!("Bearer {}", es256(&svid(json!({}))));
    let explain_checkout = |txn: &str| {
        let headers = vec![
            ("authorization".to_string(), access.clone()),
            ("txn-token".to_string(), txn.to_string()),
        ];
        let request = RequestView {
            method: "POST",
            path: "/checkout",
            authority: "api.example",
            headers: &headers,
        };
        let conn = StaticConnection::default();
        let (d, steps) = explain_in(&p, &state, &request, &conn, NOW, &GuestVerifier);
        let detail = steps
            .iter()
            .find(|s| s.check == "transaction")
            .map(|s| s.detail.clone())
            .unwrap_or_default();
        (d.reason, detail)
    };
    let good = sign_typ(&txn_claims(json!({})), "txntoken+jwt");
    assert_eq!(explain_checkout(&good).0, Reason::Allowed);
    assert_eq!(
        state.cached_tokens(),
        1,
        "only the access token is cached, not the transaction token"
    );
    assert_eq!(explain_checkout(&good).0, Reason::Allowed);
    let tampered = {
        let (head, sig) = good.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[10] ^= 1;
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes))
    };
    let expired = sign_typ(
        &txn_claims(json!({"iat": NOW - 300, "exp": NOW - 200})),
        "txntoken+jwt",
    );
    let wrong_aud = sign_typ(&txn_claims(json!({"aud": "orders"})), "txntoken+jwt");
    for (name, token, expected) in [
        ("tampered", &tampered, "bad_signature: signature:"),
        ("expired", &expired, "expired: time:"),
        ("wrong audience", &wrong_aud, "bad_audience: audience:"),
    ] {
        let (reason, detail) = explain_checkout(token);
        assert_eq!(reason, Reason::InvalidTransactionToken, "{name}");
        assert!(detail.starts_with(expected), "{name}: {detail}");
    }
    assert_eq!(state.cached_tokens(), 1);
}

#[test]
fn transaction_tokens() {
    let p = policy(&agent_policy());
    let access = format!("Bearer {}", es256(&svid(json!({}))));
    let checkout = |txn: Option<&str>| {
        let mut headers = vec![("authorization", access.as_str())];
        if let Some(t) = txn {
            headers.push(("txn-token", t));
        }
        run(
            &p,
            "POST",
            "/checkout",
            &headers,
            &StaticConnection::default(),
        )
    };
    let good = sign_typ(&txn_claims(json!({})), "txntoken+jwt");
    let d = checkout(Some(&good));
    assert_eq!(d.reason, Reason::Allowed);
    assert_eq!(
        d.txn.as_deref(),
        Some("97053963-771d-49cc-a4e3-20aad399c312")
    );
    assert_eq!(checkout(None).reason, Reason::MissingTransactionToken);
    let wrong_purpose = sign_typ(&txn_claims(json!({"scope": "refund"})), "txntoken+jwt");
    assert_eq!(
        checkout(Some(&wrong_purpose)).reason,
        Reason::TransactionPurposeMismatch
    );
    let wrong_typ = sign_typ(&txn_claims(json!({})), "JWT");
    assert_eq!(
        checkout(Some(&wrong_typ)).reason,
        Reason::InvalidTransactionToken
    );
    let no_req_wl = sign_typ(&txn_claims(json!({"req_wl": null})), "txntoken+jwt");
    assert_eq!(
        checkout(Some(&no_req_wl)).reason,
        Reason::InvalidTransactionToken
    );
    let wrong_aud = sign_typ(&txn_claims(json!({"aud": "orders"})), "txntoken+jwt");
    assert_eq!(
        checkout(Some(&wrong_aud)).reason,
        Reason::InvalidTransactionToken
    );
    let amount = sign_typ(&txn_claims(json!({"tctx": {"amount": 99}})), "txntoken+jwt");
    assert_eq!(checkout(Some(&amount)).reason, Reason::ClaimMismatch);
    // Two Txn-Token headers: exactly one is required.
    let two = run(
        &p,
        "POST",
        "/checkout",
        &[
            ("authorization", &access),
            ("txn-token", &good),
            ("txn-token", &good),
        ],
        &StaticConnection::default(),
    );
    assert_eq!(two.reason, Reason::InvalidTransactionToken);
    // A transaction token never authenticates the caller on its own.
    let alone = run(
        &p,
        "GET",
        "/direct/1",
        &[("txn-token", &good)],
        &StaticConnection::default(),
    );
    assert_eq!(alone.reason, Reason::MissingToken);
}

#[test]
fn transport_binding() {
    let p = policy(&agent_policy());
    let token = format!("Bearer {}", es256(&svid(json!({}))));
    let peer = |san: &str| StaticConnection {
        peer_uri_san: Some(san.to_string()),
        ..Default::default()
    };
    let headers = [("authorization", token.as_str())];
    assert_eq!(
        run(
            &p,
            "GET",
            "/bound",
            &headers,
            &peer("spiffe://prod.example/ns/shop/sa/web")
        )
        .reason,
        Reason::Allowed
    );
    assert_eq!(
        run(
            &p,
            "GET",
            "/bound",
            &headers,
            &peer("spiffe://prod.example/ns/evil/sa/x")
        )
        .reason,
        Reason::BindingMismatch
    );
    assert_eq!(
        run(&p, "GET", "/bound", &headers, &StaticConnection::default()).reason,
        Reason::BindingMismatch
    );
    // With an actor, the current actor must be the peer.
    let mut delegated = svid(json!({}));
    delegated["act"] = json!({"sub": "spiffe://prod.example/ns/agents/sa/a"});
    let token = format!("Bearer {}", es256(&delegated));
    let headers = [("authorization", token.as_str())];
    assert_eq!(
        run(
            &p,
            "GET",
            "/bound",
            &headers,
            &peer("spiffe://prod.example/ns/agents/sa/a")
        )
        .reason,
        Reason::Allowed
    );
    assert_eq!(
        run(
            &p,
            "GET",
            "/bound",
            &headers,
            &peer("spiffe://prod.example/ns/shop/sa/web")
        )
        .reason,
        Reason::BindingMismatch
    );

    // RFC 8705 cnf.x5t#S256 against the peer certificate digest, on any route.
    let digest = [7u8; 32];
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let cnf = svid(json!({"cnf": {"x5t#S256": URL_SAFE_NO_PAD.encode(digest)}}));
    let token = format!("Bearer {}", es256(&cnf));
    let headers = [("authorization", token.as_str())];
    let cert = |hex: &str| StaticConnection {
        peer_certificate_sha256_hex: Some(hex.to_string()),
        ..Default::default()
    };
    assert_eq!(
        run(&p, "GET", "/direct/1", &headers, &cert(&hex)).reason,
        Reason::Allowed
    );
    assert_eq!(
        run(&p, "GET", "/direct/1", &headers, &cert(&"00".repeat(32))).reason,
        Reason::BindingMismatch
    );
    assert_eq!(
        run(
            &p,
            "GET",
            "/direct/1",
            &headers,
            &StaticConnection::default()
        )
        .reason,
        Reason::BindingMismatch
    );
}

#[test]
fn access_token_typ_and_request_context() {
    let p = policy(&agent_policy());
    assert_eq!(
        bearer(&p, "GET", "/at", &sign_typ(&svid(json!({})), "at+jwt")).reason,
        Reason::InvalidSvid
    );
    // A non-SPIFFE provider with at+jwt.
    let mut value = agent_policy();
    value["providers"]["spire"]
        .as_object_mut()
        .unwrap()
        .remove("spiffe");
    let p = policy(&value);
    assert_eq!(
        bearer(
            &p,
            "GET",
            "/at",
            &sign_typ(&svid(json!({})), "application/at+jwt")
        )
        .reason,
        Reason::Allowed
    );
    assert_eq!(
        bearer(&p, "GET", "/at", &es256(&svid(json!({})))).reason,
        Reason::WrongTokenType
    );

    let token = format!(
        "Bearer {}",
        es256(&svid(json!({"tenant": "acme", "ip": "10.0.0.9:4711"})))
    );
    let conn = StaticConnection {
        source_address: Some("10.0.0.9:4711".into()),
        ..Default::default()
    };
    let ok = run(
        &p,
        "GET",
        "/tenant",
        &[("authorization", &token), ("x-tenant", "acme")],
        &conn,
    );
    assert_eq!(ok.reason, Reason::Allowed);
    let other = run(
        &p,
        "GET",
        "/tenant",
        &[("authorization", &token), ("x-tenant", "globex")],
        &conn,
    );
    assert_eq!(other.reason, Reason::ClaimMismatch);
    let missing = run(&p, "GET", "/tenant", &[("authorization", &token)], &conn);
    assert_eq!(missing.reason, Reason::ClaimMismatch);
    let moved = run(
        &p,
        "GET",
        "/tenant",
        &[("authorization", &token), ("x-tenant", "acme")],
        &StaticConnection::default(),
    );
    assert_eq!(moved.reason, Reason::ClaimMismatch);
}

#[test]
fn identity_configuration_errors() {
    for (mutate, expected) in [
        (json!({"providers": {"spire": {"spiffe": {"trust_domain": "Prod.Example"}}}}), "providers.spire.spiffe.trust_domain: `Prod.Example` is not a trust domain (lowercase letters, digits, `.`, `-`, `_`)"),
        (json!({"providers": {"spire": {"require_expiration": false}}}), "providers.spire.require_expiration: JWT-SVIDs always need `exp`"),
        (json!({"providers": {"txn": {"token_type": "id_token"}}}), "providers.txn.token_type: `id_token` is not a token type (use `access_token` or `txn_token`)"),
        (json!({"routes": {"3": {"require": {"transaction": {"provider": "spire"}}}}}), "routes[3].require.transaction.provider: provider `spire` is not a `txn_token` provider"),
        (json!({"routes": {"3": {"require": {"providers": ["txn"]}}}}), "routes[3].require.providers[0]: provider `txn` issues transaction tokens, which never authenticate a caller"),
        (json!({"routes": {"4": {"require": {"bind_peer": "x509"}}}}), "routes[4].require.bind_peer: `x509` is not a binding (use `spiffe_id`)"),
        (json!({"routes": {"1": {"require": {"max_delegation_depth": 2}}}}), "routes[1].require.max_delegation_depth: contradicts `allow_delegation: false`"),
        (json!({"routes": {"6": {"require": {"claims": {"txn.x": "y"}}}}}), "routes[6].require.claims.txn.x: `txn.` conditions need a `transaction` requirement on this route"),
        (json!({"routes": {"2": {"require": {"authorization_details": {"type": "p", "identifier": "{acount}"}}}}}), "routes[2].require.authorization_details.identifier: unknown capture {acount}"),
    ] {
        let mut value = agent_policy();
        merge(&mut value, &mutate);
        let errors = compile(&value.to_string()).unwrap_err().to_string();
        assert!(errors.contains(expected), "{expected}\n{errors}");
    }
}

/// Merges `patch` into `value`; object keys that are numbers index into arrays.
fn merge(value: &mut Value, patch: &Value) {
    for (k, v) in patch.as_object().unwrap() {
        let target = if value.is_array() {
            &mut value[k.parse::<usize>().unwrap()]
        } else {
            &mut value[k.as_str()]
        };
        if v.is_object() && (target.is_object() || target.is_array()) {
            merge(target, v);
        } else {
            *target = v.clone();
        }
    }
}
