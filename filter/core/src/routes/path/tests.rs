//! Unit tests of `path`.

use super::*;

#[test]
fn literal_capture_star_and_rest() {
    let p = PathPattern::compile("/tenants/{tenant}/orders/{id}").unwrap();
    assert_eq!(p.matches("/tenants/acme/orders/7"), Some(vec!["acme", "7"]));
    assert_eq!(p.matches("/tenants/acme/orders"), None);
    assert_eq!(p.matches("/tenants/acme/orders/7/x"), None);
    assert_eq!(p.matches("/tenants//orders/7"), None);
    assert_eq!(p.capture_index("id"), Some(1));

    let star = PathPattern::compile("/a/*/c").unwrap();
    assert_eq!(star.matches("/a/b/c"), Some(vec![]));
    assert_eq!(star.matches("/a/c"), None);

    let rest = PathPattern::compile("/static/**").unwrap();
    assert_eq!(rest.matches("/static"), Some(vec![]));
    assert_eq!(rest.matches("/static/a/b"), Some(vec![]));
    assert_eq!(rest.matches("/staticx"), None);

    let root = PathPattern::compile("/").unwrap();
    assert_eq!(root.matches("/"), Some(vec![]));
    assert_eq!(root.matches("/a"), None);
    let all = PathPattern::compile("/**").unwrap();
    assert_eq!(all.matches("/"), Some(vec![]));
    assert_eq!(all.matches("/x/y"), Some(vec![]));
}

#[test]
fn matching_is_exact_and_case_sensitive() {
    let p = PathPattern::compile("/healthz").unwrap();
    assert!(p.matches("/healthz").is_some());
    assert!(p.matches("/HEALTHZ").is_none());
    assert!(p.matches("/healthz/").is_none());
    assert!(p.matches("/healthzz").is_none());
}

#[test]
fn bad_templates_are_refused() {
    assert_eq!(
        PathPattern::compile("healthz"),
        Err(PathPatternError::NotAbsolute)
    );
    assert_eq!(
        PathPattern::compile("/a/**/b"),
        Err(PathPatternError::RestNotLast)
    );
    assert!(matches!(
        PathPattern::compile("/a{b}"),
        Err(PathPatternError::BadSegment(_))
    ));
    assert!(matches!(
        PathPattern::compile("/{1x}"),
        Err(PathPatternError::BadSegment(_))
    ));
    assert!(matches!(
        PathPattern::compile("/a*"),
        Err(PathPatternError::BadSegment(_))
    ));
    assert_eq!(
        PathPattern::compile("/{a}/{a}"),
        Err(PathPatternError::DuplicateCapture("a".into()))
    );
    assert!(matches!(
        PathPattern::compile("/a/../b"),
        Err(PathPatternError::UnmatchableSegment(_))
    ));
    assert!(matches!(
        PathPattern::compile("/a//b"),
        Err(PathPatternError::UnmatchableSegment(_))
    ));
}

#[test]
fn query_is_ignored() {
    assert_eq!(clean_path("/a/b?x=../..%2f").as_deref(), Ok("/a/b"));
    assert_eq!(clean_path("/").as_deref(), Ok("/"));
}

#[test]
fn escapes_of_unreserved_characters_are_refused() {
    for path in [
        "/%61dmin/users",
        "/%41dmin/users",
        "/ad%6Din/users",
        "/ad%6din/users",
        "/console%7E",
        "/console%7e",
        "/%2D",
        "/%5F",
        "/%30",
        "/a/b%5a",
    ] {
        assert_eq!(
            clean_path(path),
            Err(PathError::EncodedUnreserved),
            "{path}"
        );
    }
    // Reserved and non-ASCII escapes stay, with uppercase hex.
    assert_eq!(clean_path("/caf%c3%a9").as_deref(), Ok("/caf%C3%A9"));
    assert_eq!(clean_path("/a%20b%3a").as_deref(), Ok("/a%20b%3A"));
    assert!(matches!(clean_path("/a%20b"), Ok(Cow::Borrowed(_))));
    assert!(matches!(
        PathPattern::compile("/%61dmin"),
        Err(PathPatternError::UnmatchableSegment(_))
    ));
}

#[test]
fn escape_case_does_not_change_the_match() {
    let p = PathPattern::compile("/caf%c3%a9/{id}").unwrap();
    for path in ["/caf%C3%A9/1", "/caf%c3%a9/1", "/caf%C3%a9/1"] {
        let clean = clean_path(path).unwrap();
        assert_eq!(p.matches(&clean), Some(vec!["1"]), "{path}");
    }
}

#[test]
fn trailing_slash_forms() {
    assert_eq!(without_trailing_slash("/admin/"), Some("/admin"));
    assert_eq!(without_trailing_slash("/a/b/"), Some("/a/b"));
    assert_eq!(without_trailing_slash("/admin"), None);
    assert_eq!(without_trailing_slash("/"), None);
    let p = PathPattern::compile("/tenants/{t}/orders").unwrap();
    assert_eq!(p.sample_path(), "/tenants/x/orders");
    assert!(!p.has_rest());
    assert_eq!(PathPattern::compile("/").unwrap().sample_path(), "/");
    assert_eq!(PathPattern::compile("/**").unwrap().sample_path(), "/");
}

#[test]
fn path_tricks_are_refused() {
    for (path, error) in [
        ("/a/../admin", PathError::DotSegment),
        ("/a/./b", PathError::DotSegment),
        ("/..", PathError::DotSegment),
        ("/a/%2e%2e/b", PathError::EncodedSeparator),
        ("/a/%2E/b", PathError::EncodedSeparator),
        ("/a%2fb", PathError::EncodedSeparator),
        ("/a%2Fb", PathError::EncodedSeparator),
        ("/a%5cb", PathError::EncodedSeparator),
        ("/a%252e", PathError::EncodedSeparator),
        ("/a%zz", PathError::EncodedSeparator),
        ("/a%2", PathError::EncodedSeparator),
        ("/a\\b", PathError::ForbiddenCharacter),
        ("/a;b", PathError::ForbiddenCharacter),
        ("/..;/admin", PathError::ForbiddenCharacter),
        ("/a\tb", PathError::ForbiddenCharacter),
        ("/a//b", PathError::EmptySegment),
        ("//a", PathError::EmptySegment),
        ("a/b", PathError::NotAbsolute),
        ("*", PathError::NotAbsolute),
    ] {
        assert_eq!(clean_path(path), Err(error), "{path}");
    }
    assert_eq!(clean_path("/a/b%20c/").as_deref(), Ok("/a/b%20c/"));
}
