//! Values that look like credentials wherever they stand: private keys (PEM
//! blocks), JWTs, tokens with a vendor's known prefix (`sk_live_`, `ghp_`,
//! `xoxb-`, `AKIA`…) and long high-entropy tokens. What a playbook reads on
//! purpose (its non-secret captures and extracted fields) is allowed.

use regex::Regex;

/// A value that looks like a credential, and which kind (a placeholder name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaped {
    pub kind: &'static str,
    pub value: String,
}

/// Generic tokens shorter than this are not judged by entropy.
const MIN_RANDOM: usize = 24;
const MAX_RANDOM: usize = 512;
/// Bits per character a random mixed-case token reaches and words,
/// identifiers and paths do not.
const MIN_ENTROPY: f64 = 4.0;

fn patterns() -> &'static [(&'static str, Regex)] {
    static RE: std::sync::OnceLock<Vec<(&'static str, Regex)>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        [
            (
                "private_key",
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?s:.*?)-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----",
            ),
            (
                "jwt",
                r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
            ),
            (
                "api_key",
                concat!(
                    r"\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
                    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}",
                    r"|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[A-Z0-9]{16}",
                    r"|glpat-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}",
                    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{32,}",
                    // panelwright's own API tokens.
                    r"|pwt_[A-Za-z0-9_-]{40,})\b"
                ),
            ),
            // panelwright's webhook signing secrets: standard base64, padded.
            ("api_key", r"\bwhsec_[A-Za-z0-9+/]{20,}={0,2}"),
        ]
        .into_iter()
        .map(|(k, p)| (k, Regex::new(p).expect("a credential pattern")))
        .collect()
    })
}

fn words() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[A-Za-z0-9_\-]+").expect("word regex"))
}

fn sri() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"sha(?:256|384|512)-[A-Za-z0-9+/=]+").expect("SRI regex"))
}

/// Shannon entropy of `s`, in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A long token mixing upper case, lower case and digits at random: what
/// an API key or a session secret is, and a word, a path, a date, an
/// amount or a UUID is not.
pub fn looks_random(word: &str) -> bool {
    (MIN_RANDOM..=MAX_RANDOM).contains(&word.len())
        && word.bytes().any(|b| b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_lowercase())
        && word.bytes().filter(u8::is_ascii_digit).count() >= 2
        && entropy(word) >= MIN_ENTROPY
}

/// Everything in `text` shaped like a credential, except what `allowed`
/// holds (values the run read on purpose) or what contains a placeholder.
pub fn credentials_in(text: &str, allowed: &[String]) -> Vec<Shaped> {
    let mut out: Vec<Shaped> = Vec::new();
    let mut push = |kind: &'static str, value: &str| {
        let is_allowed = allowed
            .iter()
            .any(|a| !a.is_empty() && (a == value || a.contains(value)));
        if !is_allowed && !out.iter().any(|s| s.value == value) {
            out.push(Shaped {
                kind,
                value: value.to_string(),
            });
        }
    };
    for (kind, re) in patterns() {
        for m in re.find_iter(text) {
            push(kind, m.as_str());
        }
    }
    // An integrity hash (`sha384-…`) must stay what the page says, or the
    // browser refuses the script in replay.
    let integrity: Vec<std::ops::Range<usize>> = sri().find_iter(text).map(|m| m.range()).collect();
    for m in words().find_iter(text) {
        if looks_random(m.as_str()) && !integrity.iter().any(|r| r.contains(&m.start())) {
            push("random", m.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        credentials_in(text, &[])
            .into_iter()
            .map(|s| (s.kind, s.value))
            .collect()
    }

    #[test]
    fn known_prefixes_jwts_and_pem_blocks_are_credentials() {
        let stripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
        let gh = "ghp_1234567890abcdefghijABCDEFGHIJ123456";
        let slack = "xoxb-123456789012-abcdefABCDEF";
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let pat = "github_pat_11ABCDEFG0123456789_abcdefXYZ";
        let ours = "pwt_q83vEQpR0Zp3wT1Yc6M1pRzY1o2b9Hkq7Xn4Lw0sVdA";
        let hook = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+/Ab4cD5eF6g=";
        // A signing secret's `+/` split it into words the entropy rule also finds.
        assert_eq!(
            kinds(&format!("secret: {hook}."))[0],
            ("api_key", hook.to_string())
        );
        for v in [stripe, gh, slack, aws, pat, ours] {
            assert_eq!(
                kinds(&format!("key: {v}.")),
                vec![("api_key", v.to_string())]
            );
        }
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl";
        assert_eq!(kinds(&format!("\"{jwt}\""))[0], ("jwt", jwt.to_string()));
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            kinds(&format!("<pre>{pem}</pre>"))[0],
            ("private_key", pem.to_string())
        );
    }

    #[test]
    fn long_random_tokens_are_credentials() {
        let t = "q8Xz3LmN7pR2vT9wK4yB6cD1";
        assert_eq!(
            kinds(&format!("token={t}&x=1")),
            vec![("random", t.to_string())]
        );
    }

    // What a playbook extracts on purpose (a customer id shaped like a key) stays.
    #[test]
    fn allowed_values_are_not_taken_for_credentials() {
        let id = "cus_Q8Xz3LmN7pR2vT9wK4yB6cD1";
        assert!(!kinds(&format!("<td>{id}</td>")).is_empty());
        assert!(credentials_in(&format!("<td>{id}</td>"), &[id.to_string()]).is_empty());
    }

    #[test]
    fn ordinary_text_ids_dates_hashes_and_amounts_are_not_credentials() {
        let text = "Northwind Traders has 42 seats at EUR 1,234.56 since 2026-10-01T10:00:00Z. \
             Tenant tenant-000123, device 6f1c2a4e-9b7d-4c3e-8a2f-1d5e7b9c0a3f, \
             <script src=\"/static/app.3f9a8c1d2e4b5a6f7c8d9e0f1a2b3c4d.js\" \
             integrity=\"sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC\"></script> \
             getElementByIdOrDefaultValue PanelwrightRestoreWindowState \
             /api/v1/customers/24/subscriptions?page=2&per_page=50 DBK-SVUO-95BG-TA6D-3S09";
        assert!(kinds(text).is_empty(), "{:?}", kinds(text));
    }
}
