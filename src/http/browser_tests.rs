use super::*;
use axum::http::HeaderValue;

fn http(listen: &str, hosts: &[&str], origins: &[&str]) -> HttpConfig {
    HttpConfig {
        listen: listen.parse().expect("listen"),
        allowed_hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
        allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
        ..HttpConfig::default()
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.insert(*n, HeaderValue::from_str(v).expect("value"));
    }
    h
}

#[test]
fn loopback_names_and_the_listen_address_are_this_server() {
    let c = http("127.0.0.1:8085", &[], &[]);
    for ok in [
        "localhost",
        "localhost:8085",
        "127.0.0.1:8085",
        "127.0.0.1",
        "[::1]:8085",
        "LOCALHOST:8085",
    ] {
        assert!(host_allowed(&c, c.listen, ok), "{ok}");
    }
    for refused in [
        "evil.example",
        "evil.example:8085",
        "localhost:9999",
        "127.0.0.2:8085",
        "localhost.evil.example:8085",
        "",
    ] {
        assert!(!host_allowed(&c, c.listen, refused), "{refused}");
    }
    let lan = http("10.1.2.3:8085", &[], &[]);
    assert!(host_allowed(&lan, lan.listen, "10.1.2.3:8085"));
    let v6 = http("[2001:db8::5]:8085", &[], &[]);
    assert!(host_allowed(&v6, v6.listen, "[2001:db8::5]:8085"));
}

#[test]
fn configured_hosts_extend_the_list_and_star_turns_it_off() {
    let c = http(
        "0.0.0.0:8085",
        &["pay.example.com", "proxy.example:443"],
        &[],
    );
    assert!(host_allowed(&c, c.listen, "pay.example.com"));
    assert!(host_allowed(&c, c.listen, "pay.example.com:8085"));
    assert!(host_allowed(&c, c.listen, "proxy.example:443"));
    assert!(!host_allowed(&c, c.listen, "pay.example.com:9000"));
    assert!(!host_allowed(&c, c.listen, "0.0.0.0:8085"));
    let any = http("127.0.0.1:8085", &["*"], &[]);
    assert!(host_allowed(&any, any.listen, "anything:1"));
}

#[test]
fn same_origin_or_a_listed_origin_only() {
    let c = http("127.0.0.1:8085", &[], &["https://crm.example.com"]);
    let host = Some("127.0.0.1:8085");
    assert!(origin_allowed(&c, "http://127.0.0.1:8085", host));
    assert!(origin_allowed(&c, "https://127.0.0.1:8085", host));
    assert!(origin_allowed(&c, "https://crm.example.com", host));
    assert!(!origin_allowed(&c, "http://evil.example", host));
    assert!(!origin_allowed(&c, "null", host));
    assert!(!origin_allowed(&c, "http://127.0.0.1:8086", host));
    assert!(!origin_allowed(
        &c,
        "http://127.0.0.1:8085.evil.example",
        host
    ));
    assert!(!origin_allowed(&c, "http://127.0.0.1:8085", None));
}

#[test]
fn a_cross_site_api_request_is_refused_and_a_page_request_is_not_checked_for_origin() {
    let c = http("127.0.0.1:8085", &[], &[]);
    let cross = headers(&[
        ("host", "127.0.0.1:8085"),
        ("origin", "http://evil.example"),
    ]);
    assert!(matches!(
        check(&c, c.listen, &cross, "/api/v1/sessions"),
        Err(ApiError::OriginNotAllowed)
    ));
    assert!(check(&c, c.listen, &cross, "/").is_ok());
    let rebind = headers(&[("host", "evil.example:8085")]);
    assert!(matches!(
        check(&c, c.listen, &rebind, "/"),
        Err(ApiError::HostNotAllowed)
    ));
    let curl = headers(&[("host", "localhost:8085")]);
    assert!(check(&c, c.listen, &curl, "/api/v1/calls").is_ok());
    assert!(check(&c, c.listen, &HeaderMap::new(), "/api/v1/calls").is_ok());
}

#[test]
fn writes_take_json_or_nothing() {
    assert!(content_type_ok(&headers(&[("content-type", "application/json")])).is_ok());
    assert!(
        content_type_ok(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )]))
        .is_ok()
    );
    assert!(content_type_ok(&headers(&[("content-length", "0")])).is_ok());
    assert!(content_type_ok(&HeaderMap::new()).is_ok());
    for refused in [
        headers(&[("content-type", "text/plain"), ("content-length", "2")]),
        headers(&[("content-type", "application/x-www-form-urlencoded")]),
        headers(&[("content-type", "multipart/form-data; boundary=x")]),
        headers(&[("content-length", "12")]),
        headers(&[("transfer-encoding", "chunked")]),
    ] {
        assert!(
            matches!(
                content_type_ok(&refused),
                Err(ApiError::UnsupportedMediaType)
            ),
            "{refused:?}"
        );
    }
}
