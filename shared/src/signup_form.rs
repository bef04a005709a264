//! The program's own signup form: the extra questions applicants answer (website, traffic
//! sources, country, tax id, …), each with a type, a required flag and its checks, and
//! the validation of one applicant's answers with an error per field.

use crate::error::Invalid;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldErrors;

/// Fields every signup has; a form field may not reuse their names.
const RESERVED: [&str; 5] = ["email", "name", "type", "referred_by", "fields"];
pub const MAX_FIELDS: usize = 30;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupSettings {
    /// Approve applicants at once (their key comes back with the signup) instead of
    /// waiting for the operator.
    #[serde(default)]
    pub auto_approve: bool,
    #[serde(default)]
    pub form: Vec<FormField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// The answer's key (`website`, `tax_id`): lower case letters, digits, `_`.
    pub name: String,
    /// The question as the form shows it.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The choices of a `select` or `multi_select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// The longest `text` answer accepted (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Email,
    /// An http(s) address, like the partner's website.
    Url,
    /// An ISO 3166-1 alpha-2 country code.
    Country,
    Number,
    Select,
    MultiSelect,
    /// A tick box; when required it must be ticked (accepting the program's terms).
    Checkbox,
}

impl FieldKind {
    fn parse(text: &str) -> Result<Self, Invalid> {
        serde_json::from_value(Value::String(text.to_string())).map_err(|_| {
            Invalid(format!(
                "must be text, email, url, country, number, select, multi_select or checkbox, got {text:?}"
            ))
        })
    }
}

/// The operator's form as sent to the admin API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormFieldRequest {
    pub name: Option<String>,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub required: Option<bool>,
    pub options: Option<Vec<String>>,
    pub max_length: Option<u32>,
}

/// Checks the operator's form; errors name `signup.form[i].<field>`.
pub fn parse_form(fields: Vec<FormFieldRequest>, errors: &mut FieldErrors) -> Vec<FormField> {
    if fields.len() > MAX_FIELDS {
        errors.push("signup.form", format!("at most {MAX_FIELDS} fields"));
    }
    let mut out: Vec<FormField> = Vec::new();
    for (i, f) in fields.into_iter().enumerate() {
        let at = |field: &str| format!("signup.form[{i}].{field}");
        let name = errors.required(&at("name"), f.name).and_then(|n| {
            let ok = !n.is_empty()
                && n.len() <= 40
                && n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                errors.push(
                    &at("name"),
                    "must be 1 to 40 lower case letters, digits or _, starting with a letter",
                );
                None
            } else if RESERVED.contains(&n.as_str()) {
                errors.push(&at("name"), format!("{n:?} is a standard signup field"));
                None
            } else if out.iter().any(|o| o.name == n) {
                errors.push(&at("name"), format!("{n:?} is used by an earlier field"));
                None
            } else {
                Some(n)
            }
        });
        let label = errors
            .required(&at("label"), f.label)
            .map(|l| l.trim().to_string())
            .filter(|l| {
                let ok = !l.is_empty() && l.chars().count() <= 200;
                if !ok {
                    errors.push(&at("label"), "must be 1 to 200 characters");
                }
                ok
            });
        let kind = errors
            .required(&at("type"), f.kind)
            .and_then(|k| errors.take(&at("type"), FieldKind::parse(&k)));
        let options: Vec<String> = f
            .options
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.trim().to_string())
            .collect();
        let is_select = matches!(kind, Some(FieldKind::Select | FieldKind::MultiSelect));
        if is_select && (options.is_empty() || options.iter().any(String::is_empty)) {
            errors.push(&at("options"), "a select needs its non-empty choices");
        }
        if kind.is_some() && !is_select && !options.is_empty() {
            errors.push(&at("options"), "only select and multi_select take options");
        }
        if f.max_length.is_some() && kind != Some(FieldKind::Text) {
            errors.push(&at("max_length"), "only text fields take a max_length");
        }
        if let (Some(name), Some(label), Some(kind)) = (name, label, kind) {
            out.push(FormField {
                name,
                label,
                kind,
                required: f.required.unwrap_or(false),
                options,
                max_length: f.max_length,
            });
        }
    }
    out
}

/// Checks an applicant's answers against the form. Errors name `fields.<name>`; the
/// answers come back normalised (trimmed, country codes upper case).
pub fn validate_answers(
    form: &[FormField],
    answers: BTreeMap<String, Value>,
    errors: &mut FieldErrors,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for name in answers.keys() {
        if !form.iter().any(|f| &f.name == name) {
            errors.push(
                &format!("fields.{name}"),
                "is not a question of this program's signup form",
            );
        }
    }
    for field in form {
        let at = format!("fields.{}", field.name);
        let answer = answers
            .get(&field.name)
            .filter(|v| !v.is_null() && *v != &Value::String(String::new()));
        let Some(answer) = answer else {
            if field.required {
                errors.push(&at, format!("is required ({})", field.label));
            }
            continue;
        };
        match check(field, answer) {
            Ok(v) => {
                out.insert(field.name.clone(), v);
            }
            Err(e) => errors.push(&at, e),
        }
    }
    out
}

fn check(field: &FormField, answer: &Value) -> Result<Value, Invalid> {
    let text = || {
        answer
            .as_str()
            .map(str::trim)
            .ok_or_else(|| "must be text".to_string())
    };
    match field.kind {
        FieldKind::Text => {
            let t = text()?;
            let max = field.max_length.unwrap_or(500) as usize;
            if t.chars().count() > max {
                return Err(Invalid(format!("must be at most {max} characters")));
            }
            Ok(Value::String(t.to_string()))
        }
        FieldKind::Email => crate::partner::parse_email(text()?).map(Value::String),
        FieldKind::Url => {
            let t = text()?;
            let url = url::Url::parse(t).map_err(|_| format!("{t:?} is not a web address"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err("must be an http or https address".into());
            }
            Ok(Value::String(url.to_string()))
        }
        FieldKind::Country => {
            let t = text()?.to_ascii_uppercase();
            if t.len() == 2 && t.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(Value::String(t))
            } else {
                Err("must be a two-letter country code (ISO 3166-1, like DE)".into())
            }
        }
        FieldKind::Number => match answer {
            Value::Number(n) => Ok(Value::Number(n.clone())),
            _ => Err("must be a number".into()),
        },
        FieldKind::Select => {
            let t = text()?;
            if field.options.iter().any(|o| o == t) {
                Ok(Value::String(t.to_string()))
            } else {
                Err(Invalid(format!(
                    "must be one of {}",
                    field.options.join(", ")
                )))
            }
        }
        FieldKind::MultiSelect => {
            let items = answer
                .as_array()
                .ok_or_else(|| "must be a list of choices".to_string())?;
            let mut chosen = Vec::new();
            for item in items {
                match item
                    .as_str()
                    .filter(|t| field.options.iter().any(|o| o == t))
                {
                    Some(t) => chosen.push(Value::String(t.to_string())),
                    None => {
                        return Err(Invalid(format!(
                            "{item} is not one of {}",
                            field.options.join(", ")
                        )));
                    }
                }
            }
            if field.required && chosen.is_empty() {
                return Err(Invalid(format!("is required ({})", field.label)));
            }
            Ok(Value::Array(chosen))
        }
        FieldKind::Checkbox => match answer {
            Value::Bool(true) => Ok(Value::Bool(true)),
            Value::Bool(false) if field.required => {
                Err(Invalid(format!("must be ticked ({})", field.label)))
            }
            Value::Bool(false) => Ok(Value::Bool(false)),
            _ => Err("must be true or false".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form() -> Vec<FormField> {
        let mut errors = FieldErrors::default();
        let req: Vec<FormFieldRequest> = serde_json::from_value(json!([
            {"name": "website", "label": "Your website", "type": "url", "required": true},
            {"name": "traffic", "label": "Traffic sources", "type": "multi_select",
             "options": ["seo", "social", "email"], "required": true},
            {"name": "country", "label": "Country", "type": "country"},
            {"name": "tax_id", "label": "Tax id", "type": "text", "max_length": 20},
            {"name": "audience", "label": "Monthly visitors", "type": "number"},
            {"name": "terms", "label": "I accept the terms", "type": "checkbox", "required": true}
        ]))
        .unwrap();
        let form = parse_form(req, &mut errors);
        assert!(errors.is_empty());
        form
    }

    fn answers(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn good_answers_are_kept_normalised() {
        let mut errors = FieldErrors::default();
        let out = validate_answers(
            &form(),
            answers(
                json!({"website": " https://ann.example/blog ", "traffic": ["seo"],
                "country": "de", "audience": 12000, "terms": true}),
            ),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(out["country"], "DE");
        assert_eq!(out["website"], "https://ann.example/blog");
        assert!(!out.contains_key("tax_id"));
    }

    #[test]
    fn every_wrong_answer_is_named() {
        let mut errors = FieldErrors::default();
        validate_answers(
            &form(),
            answers(json!({"website": "javascript:alert(1)", "traffic": ["tv"],
                "country": "Germany", "tax_id": "x".repeat(21), "audience": "lots",
                "terms": false, "shoe_size": 42})),
            &mut errors,
        );
        let fields: Vec<&str> = errors.fields().collect();
        assert_eq!(
            fields,
            [
                "fields.shoe_size",
                "fields.website",
                "fields.traffic",
                "fields.country",
                "fields.tax_id",
                "fields.audience",
                "fields.terms"
            ]
        );
        let mut errors = FieldErrors::default();
        validate_answers(&form(), BTreeMap::new(), &mut errors);
        let fields: Vec<&str> = errors.fields().collect();
        assert_eq!(fields, ["fields.website", "fields.traffic", "fields.terms"]);
    }

    #[test]
    fn bad_forms_are_refused_field_by_field() {
        let mut errors = FieldErrors::default();
        let req: Vec<FormFieldRequest> = serde_json::from_value(json!([
            {"name": "email", "label": "x", "type": "text"},
            {"name": "Site", "label": "x", "type": "url"},
            {"name": "plan", "label": "Plan", "type": "select"},
            {"name": "a", "label": "", "type": "colour"},
            {"name": "b", "label": "B", "type": "text", "options": ["x"]},
            {"name": "b", "label": "B again", "type": "url", "max_length": 3}
        ]))
        .unwrap();
        parse_form(req, &mut errors);
        let fields: Vec<&str> = errors.fields().collect();
        assert_eq!(
            fields,
            [
                "signup.form[0].name",
                "signup.form[1].name",
                "signup.form[2].options",
                "signup.form[3].label",
                "signup.form[3].type",
                "signup.form[4].options",
                "signup.form[5].name",
                "signup.form[5].max_length"
            ]
        );
    }
}
