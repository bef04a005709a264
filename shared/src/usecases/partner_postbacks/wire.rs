//! The JSON shapes of a partner's own postback URL, in one place: the template as the
//! partner sends it, parsed at the edge (`TemplateRequest::parse`) into a stored
//! template, and the template as the API renders it, with the macros it may use.

use serde::{Deserialize, Serialize};

use super::{MACROS, PostbackTemplate};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TemplateView {
    pub url: String,
    pub macros: Vec<String>,
    pub updated_at: String,
}

impl TemplateView {
    pub fn of(t: &PostbackTemplate) -> Self {
        TemplateView {
            url: t.url.clone(),
            macros: MACROS.iter().map(|m| format!("{{{m}}}")).collect(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}
