//! Unit tests of `partner_postbacks`.

use super::*;

#[test]
fn templates_must_be_public_http_urls_with_known_macros() {
    let ok = "https://tracker.example.com/pb?cid={click_id}&amt={payout}&s={sub1}";
    assert_eq!(parse_template(ok, false).unwrap(), ok);
    for (bad, says) in [
        ("ftp://tracker.example.com/{click_id}", "http or https"),
        ("https://tracker.example.com/?x={clickid}", "not a macro"),
        ("https://tracker.example.com/?x={click_id", "without its }"),
        ("https://tracker.example.com/?x=click_id}", "without its {"),
        ("https://{sub1}.example.com/", "not in the host"),
        ("https://user:pw@tracker.example.com/", "credentials"),
        ("http://localhost:8080/pb", "local name"),
        ("http://intranet/pb", "local name"),
        ("http://127.0.0.1/pb", "not a public address"),
        ("http://10.0.0.8/pb", "not a public address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "not a public address",
        ),
        ("http://[::1]/pb", "not a public address"),
        ("http://[::ffff:192.168.0.1]/pb", "not a public address"),
        ("/relative/{click_id}", "absolute URL"),
    ] {
        let err = parse_template(bad, false).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
    assert!(parse_template("http://127.0.0.1:9/pb?c={click_id}", true).is_ok());
}

#[test]
fn macro_values_are_url_encoded() {
    let url = expand(
        "https://t.example.com/p/{sub1}?o={order_id}&a={amount}&e={event}",
        |m| match m {
            "sub1" => "a/b c".into(),
            "order_id" => "A&B=1?#x".into(),
            "amount" => "49.99".into(),
            "event" => "café".into(),
            _ => String::new(),
        },
    )
    .unwrap();
    assert_eq!(
        url,
        "https://t.example.com/p/a%2Fb%20c?o=A%26B%3D1%3F%23x&a=49.99&e=caf%C3%A9"
    );
}
