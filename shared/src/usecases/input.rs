//! Shapes that requests share at the edge: decimals that arrive as JSON strings or numbers
//! and must be read exactly, and text-or-number identifiers.

use serde::Deserialize;
use serde_json::value::RawValue;

/// A decimal given as a JSON string (`"100.10"`) or number (`100.10`), kept as its exact
/// text: JSON numbers would otherwise pass through a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalText(pub String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(serde::de::Error::custom)?;
            Ok(DecimalText(s))
        } else if text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            Ok(DecimalText(text.to_string()))
        } else {
            Err(serde::de::Error::custom(
                "expected a decimal as a string or a number",
            ))
        }
    }
}

/// An identifier storefronts send as a string or an integer (order ids often are numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdText(pub String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(serde::de::Error::custom)?;
            Ok(IdText(s))
        } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(IdText(text.to_string()))
        } else {
            Err(serde::de::Error::custom("expected a string or an integer"))
        }
    }
}

/// Parses a JSON request body into `T`, naming the field on a type error.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, crate::error::AppError> {
    use crate::error::AppError;
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(AppError::Malformed(
                "the request body is empty; send a JSON object".into(),
            ));
        }
        // serde would read a struct from an array too; requests are objects.
        Some(b'{') => {}
        Some(_) => return Err(AppError::Malformed("the body must be a JSON object".into())),
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            AppError::Malformed(format!("the body is not valid JSON: {inner}"))
        } else if path == "." {
            let msg = inner.to_string();
            // Unknown fields are usually typos: name them so the caller can fix the request.
            match msg
                .strip_prefix("unknown field `")
                .and_then(|r| r.split_once('`'))
            {
                Some((field, _)) => {
                    AppError::field(field, msg.split(" at line ").next().unwrap_or(&msg))
                }
                None => AppError::Malformed(format!("the body must be a JSON object: {inner}")),
            }
        } else {
            // serde's message carries " at line … column …" which means nothing to callers.
            let msg = inner.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            AppError::field(&path, msg)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[derive(Deserialize, Debug)]
    struct Body {
        amount: Option<DecimalText>,
        order_id: Option<IdText>,
    }

    #[test]
    fn decimals_keep_their_exact_text_from_strings_and_numbers() {
        let b: Body = parse_json(br#"{"amount": 100.10, "order_id": 12}"#).unwrap();
        assert_eq!(b.amount.unwrap().0, "100.10");
        assert_eq!(b.order_id.unwrap().0, "12");
        let b: Body = parse_json(br#"{"amount": "0.30"}"#).unwrap();
        assert_eq!(b.amount.unwrap().0, "0.30");
    }

    #[test]
    fn type_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"amount": true}"#).unwrap_err();
        assert!(
            matches!(e, AppError::Invalid(ref f) if f[0].field == "amount"),
            "{e:?}"
        );
    }

    #[test]
    fn broken_json_is_malformed() {
        assert!(matches!(
            parse_json::<Body>(b"{\"amount\": "),
            Err(AppError::Malformed(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"[1]"),
            Err(AppError::Malformed(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b""),
            Err(AppError::Malformed(_))
        ));
    }
}
