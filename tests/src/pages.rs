//! Server-rendered pages driven in process, as a browser without JavaScript would: a
//! function's router called with cookies, forms and the `Origin` a browser names, the
//! answers read as pages (status, headers, text, the cookie set, the form's CSRF token),
//! the function's table and queue calls held to its policy in `template.yaml`, and the
//! emails the email stage would send captured rather than sent.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt;
use upline_domain::ports::{MailError, Mailer, OutgoingEmail};
use upline_domain::services::Services;

use crate::policy::{PolicedQueue, PolicedTable, Policy};

/// A page as a browser gets it.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The page's text with the entities the templates write turned back into characters
    /// (minijinja writes `/` as `&#x2f;`), for asserting on values as a browser reads them.
    pub fn decoded(&self) -> String {
        self.text
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// The value of the cookie `name` this answer sets, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let set = self.headers.get("set-cookie")?.to_str().ok()?;
        let value = set.strip_prefix(&format!("{name}="))?;
        Some(value.split(';').next()?.to_string())
    }

    /// The value of the hidden `csrf` field of the page's forms.
    pub fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.text));
        let rest = &self.text[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// A function's pages behind its router, at `base`, with its session cookie's name.
pub struct Pages {
    pub router: Router,
    pub base: String,
    pub cookie_name: &'static str,
}

impl Pages {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<String>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = Request::builder().method(method.clone()).uri(path);
        if let Some(c) = cookie {
            request = request.header("cookie", format!("{}={c}", self.cookie_name));
        }
        if form.is_some() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        // Browsers name the origin of every POST; a test that means another says so.
        let names_origin = headers
            .iter()
            .any(|(n, _)| *n == "origin" || *n == "sec-fetch-site");
        if method == Method::POST && !names_origin {
            request = request.header("origin", self.base.as_str());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(form.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        Page {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Page {
        self.send(Method::GET, path, cookie, None, &[]).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, form: &str) -> Page {
        self.send(Method::POST, path, cookie, Some(form.to_string()), &[])
            .await
    }
}

/// `services` with every table and queue call checked against `function`'s policy in
/// `template.yaml`; the policy keeps what was refused.
pub fn policed(services: &Services, function: &str) -> (Services, Arc<Policy>) {
    let policy = Policy::of(function);
    let mut services = services.clone();
    services.store = upline_domain::store::Store::new(Arc::new(PolicedTable {
        inner: services.store.table().clone(),
        policy: policy.clone(),
    }));
    services.queue = Arc::new(PolicedQueue {
        inner: services.queue.clone(),
        policy: policy.clone(),
    });
    (services, policy)
}

/// The emails made from `template` that wait in the world's emails queue, delivered
/// through the email stage (to partners and to operators alike) into a captured mailer:
/// (to, text) of each. Messages of other templates are taken off the queue unsent.
pub async fn deliver_queued(
    world: &crate::world::EmbeddedWorld,
    base: &str,
    template: &str,
) -> Vec<(String, String)> {
    use upline_domain::emails::EmailTemplates;
    use upline_domain::messages::Message;
    use upline_domain::ports::{QueueConsumer, QueueName};
    use upline_domain::usecases::emails::{deliver, deliver_to_operator};
    let mailer = Captured::default();
    let store = &world.services.store;
    let queued = world
        .store
        .receive(QueueName::Emails, 100, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    for d in queued {
        match Message::decode(&d.body).unwrap().1 {
            Message::EmailRequested(r) if r.template.name() == template => {
                deliver(store, &mailer, &EmailTemplates, base, &r)
                    .await
                    .unwrap();
            }
            Message::OperatorEmailRequested(r) if r.template.name() == template => {
                deliver_to_operator(store, &mailer, &EmailTemplates, &r)
                    .await
                    .unwrap();
            }
            _ => {}
        }
    }
    let sent = mailer.0.lock().unwrap();
    sent.iter()
        .map(|e| (e.to.clone(), e.text.clone()))
        .collect()
}

/// A mailer that keeps what it is given.
#[derive(Default)]
pub struct Captured(pub Mutex<Vec<OutgoingEmail>>);

#[async_trait]
impl Mailer for Captured {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(email.clone());
        Ok(())
    }
}
