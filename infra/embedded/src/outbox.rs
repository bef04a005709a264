//! The Mailer port as a folder: each email becomes an RFC 5322 `.eml` file (text and HTML
//! alternatives) that any mail client opens. Files are named after the email's
//! idempotency key; a second send of the same key gets a numbered file, so a duplicate
//! would show rather than hide.

use std::path::PathBuf;

use async_trait::async_trait;
use upline_domain::clock::{Clock, SystemClock};
use upline_domain::emails::{file_stem, mime_message};
use upline_domain::ports::{MailError, Mailer, OutgoingEmail};

pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: String) -> std::io::Result<Self> {
        crate::private::private_dir(&dir)?;
        Ok(OutboxMailer { dir, from })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if !email.to.contains('@') {
            return Err(MailError::Rejected(format!(
                "{:?} is not an address",
                email.to
            )));
        }
        let eml = mime_message(&self.from, email, SystemClock.now());
        let stem = file_stem(&email.idempotency_key);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut path = dir.join(format!("{stem}.eml"));
            let mut n = 1;
            while path.exists() {
                n += 1;
                path = dir.join(format!("{stem}.{n}.eml"));
            }
            // Write then rename, so a reader never sees half a message.
            let tmp = dir.join(format!(".{stem}.tmp"));
            crate::private::write_private(&tmp, eml.as_bytes())?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(|e| MailError::Transient(e.to_string()))?
        .map_err(|e| MailError::Transient(format!("outbox write failed: {e}")))
    }
}
