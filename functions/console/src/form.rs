//! A posted form as the console reads it: every field in order, a name possibly repeated
//! (the check boxes of a bulk action), read by `url`'s `application/x-www-form-urlencoded`
//! parser. A form whose body is not one reads as empty and fails its CSRF check.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::Response;

pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The value of `name` when it is given and not blank.
    pub fn given(&self, name: &str) -> Option<String> {
        Some(self.get(name))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    pub fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(axum::response::IntoResponse::into_response)?;
        Ok(Fields::parse(&body))
    }
}

/// Field errors at the form's boxes: `place` names the box an API field belongs in; a
/// box holding several values (one of `boxes`) also says which value is wrong.
pub fn errors_at(
    fields: Vec<upline_domain::error::FieldError>,
    place: fn(&str) -> &'static str,
    boxes: &[&str],
) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    let mut out: std::collections::BTreeMap<&'static str, Vec<String>> = Default::default();
    for f in fields {
        let at = place(&f.field);
        let message = if boxes.contains(&at) {
            format!("{}: {}", f.field, f.message)
        } else {
            f.message
        };
        out.entry(at).or_default().push(message);
    }
    out
}

/// Percents typed in one box, level 1 first: `50, 25` or `50 % 25 %`.
pub fn percents(text: &str) -> Vec<&str> {
    text.split([',', ' '])
        .map(|l| l.trim().trim_end_matches('%'))
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_all_kept_and_blanks_are_not_given() {
        let f = Fields::parse(b"ids=p-1&ids=p-2&reason=+Spam+site+&note=&csrf=abc");
        assert_eq!(f.all("ids"), ["p-1", "p-2"]);
        assert_eq!(f.get("reason"), "Spam site");
        assert_eq!(f.given("note"), None);
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.csrf(), "abc");
    }

    #[test]
    fn percents_are_read_however_they_are_separated() {
        assert_eq!(percents("50, 25"), ["50", "25"]);
        assert_eq!(percents(" 50% 12.5 %"), ["50", "12.5"]);
        assert!(percents("  ").is_empty());
    }
}
