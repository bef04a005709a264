//! Who is behind a request, as far as tracking cares: a person on a kind of device and
//! operating system in a country, or a bot. Bots (crawlers, link-preview fetchers, HTTP
//! libraries, requests without a user agent) are still redirected but never counted as
//! clicks, so a link pasted into a chat does not inflate a partner's numbers.

use crate::error::Invalid;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// Device families targeting rules can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Other,
}

impl Device {
    pub const ALL: [Device; 4] = [
        Device::Desktop,
        Device::Mobile,
        Device::Tablet,
        Device::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Result<Device, Invalid> {
        Device::ALL
            .into_iter()
            .find(|d| d.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Invalid(format!(
                    "must be one of desktop, mobile, tablet, other; got {text:?}"
                ))
            })
    }
}

/// Operating-system families targeting rules can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Os {
    Ios,
    Android,
    Windows,
    Macos,
    Linux,
    ChromeOs,
    Other,
}

impl Os {
    pub const ALL: [Os; 7] = [
        Os::Ios,
        Os::Android,
        Os::Windows,
        Os::Macos,
        Os::Linux,
        Os::ChromeOs,
        Os::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Os::Ios => "ios",
            Os::Android => "android",
            Os::Windows => "windows",
            Os::Macos => "macos",
            Os::Linux => "linux",
            Os::ChromeOs => "chrome_os",
            Os::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Result<Os, Invalid> {
        Os::ALL
            .into_iter()
            .find(|o| o.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Invalid(format!(
                    "must be one of ios, android, windows, macos, linux, chrome_os, other; got {text:?}"
                ))
            })
    }
}

/// What a request's headers tell about its sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    /// Two-letter ISO 3166 code from the edge's geolocation header, upper case.
    pub country: Option<String>,
    pub device: Device,
    pub os: Os,
    /// Why this is not a person, if it is not.
    pub bot: Option<String>,
}

static BOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);
static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// Link-preview fetchers the shared bot list does not name (checked case-insensitively).
const PREVIEW_AGENTS: [&str; 6] = [
    "whatsapp",
    "skypeuripreview",
    "iframely",
    "embedly",
    "google-pagerenderer",
    "snapchat",
];

/// Classifies a request from its user agent and the edge's country header.
pub fn classify(user_agent: Option<&str>, country: Option<&str>) -> Visitor {
    let ua = user_agent.map(str::trim).unwrap_or("");
    let country = country
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
    let parsed = PARSER.parse(ua);
    let category = parsed.as_ref().map_or("", |p| p.category);
    let os_name = parsed.as_ref().map_or("", |p| p.os);
    let lower = ua.to_ascii_lowercase();
    let bot = if ua.is_empty() {
        Some("no user agent".to_string())
    } else if category == "crawler" || BOTS.is_bot(ua) {
        Some("known bot or crawler".to_string())
    } else {
        PREVIEW_AGENTS
            .iter()
            .find(|p| lower.contains(*p))
            .map(|p| format!("link preview ({p})"))
    };
    let os = match os_name {
        "iPhone" | "iPad" | "iPod" | "iOS" => Os::Ios,
        "Android" => Os::Android,
        "Mac OSX" | "Mac OS X" => Os::Macos,
        "Linux" => Os::Linux,
        "ChromeOS" => Os::ChromeOs,
        n if n.starts_with("Windows") => Os::Windows,
        _ => Os::Other,
    };
    // Woothee puts tablets with phones; iPads, and Android devices that do not say
    // "Mobile" (Google's rule for tablets), are tablets.
    let device = match category {
        _ if os_name == "iPad" => Device::Tablet,
        "smartphone" | "mobilephone" if os == Os::Android && !ua.contains("Mobile") => {
            Device::Tablet
        }
        "smartphone" | "mobilephone" => Device::Mobile,
        "pc" => Device::Desktop,
        _ => Device::Other,
    };
    Visitor {
        country,
        device,
        os,
        bot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

    #[test]
    fn people_are_classified_by_device_and_os() {
        let cases = [
            (IPHONE, Device::Mobile, Os::Ios),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
                Device::Mobile,
                Os::Android,
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                Device::Tablet,
                Os::Ios,
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                Device::Tablet,
                Os::Android,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                Device::Desktop,
                Os::Windows,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                Device::Desktop,
                Os::Macos,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                Device::Desktop,
                Os::Linux,
            ),
        ];
        for (ua, device, os) in cases {
            let v = classify(Some(ua), None);
            assert_eq!(
                (v.device, v.os, v.bot.as_deref()),
                (device, os, None),
                "{ua}"
            );
        }
    }

    #[test]
    fn bots_previews_and_libraries_are_not_people() {
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "WhatsApp/2.23.20.0",
            "TelegramBot (like TwitterBot)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "Twitterbot/1.0",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
            "",
        ] {
            assert!(
                classify(Some(ua), None).bot.is_some(),
                "{ua:?} counted as a person"
            );
        }
        assert!(classify(None, None).bot.is_some());
    }

    #[test]
    fn countries_are_two_letter_codes_or_nothing() {
        assert_eq!(
            classify(Some(IPHONE), Some("de")).country.as_deref(),
            Some("DE")
        );
        assert_eq!(classify(Some(IPHONE), Some("XX1")).country, None);
        assert_eq!(classify(Some(IPHONE), Some("")).country, None);
    }
}
