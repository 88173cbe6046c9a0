//! Words and text forms several modules share, so that none borrows them
//! from a neighbour: the [`text_enum!`] macro behind every enum stored or
//! written as text (failure classes, job statuses, event and credential
//! kinds), and the one URL encoding that templates produce and the redactor
//! must recognise.

/// Why a text did not hold one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct ParseTextError {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

/// `ALL`, `as_str`, `Display`, `FromStr` and serde (as the same text) for
/// an enum written as text, from one table of variant ↔ text, so a word is
/// spelled the same in playbooks, the store, the CLI and JSON. The store
/// adds its SQL conversions with `store::sql_text!`.
macro_rules! text_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::text::ParseTextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    _ => Err($crate::text::ParseTextError {
                        what: $what,
                        value: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        /// Compares with the text form, so `event.kind == "claimed"` reads
        /// as the stored word.
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_enum;

/// Bytes a URL component keeps as they are: RFC 3986's unreserved set.
const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `value` for a URL component (query value, path segment).
/// The template filter `urlencode` and the redactor (which must find a
/// secret in a URL too) use this one function.
pub fn urlencode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, URL_COMPONENT).to_string()
}

/// Escapes text for HTML (content and quoted attributes). The redactor and
/// the recording scrubber must both find a value in this form.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencode_keeps_unreserved_bytes_only() {
        assert_eq!(urlencode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(urlencode("p@ss w/rd&x=é"), "p%40ss%20w%2Frd%26x%3D%C3%A9");
    }
}
