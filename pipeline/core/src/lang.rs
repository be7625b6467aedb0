//! Document and query languages, with a cheap script-based detector.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The languages Quarry analyses differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (stemmed, stop words removed).
    En,
    /// Chinese (jieba words plus single characters).
    Zh,
    /// Not known yet: [`Lang::detect`] decides.
    #[default]
    Unknown,
}

impl Lang {
    /// The short code used in JSON and in index field names (`en`, `zh`, `unknown`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
            Lang::Unknown => "unknown",
        }
    }

    /// Guesses the language of `text` from its script: Chinese when at least 20% of the
    /// letters are CJK ideographs, English otherwise. Empty text is `Unknown`.
    pub fn detect(text: &str) -> Lang {
        let mut cjk = 0usize;
        let mut letters = 0usize;
        for c in text.chars() {
            if is_cjk(c) {
                cjk += 1;
                letters += 1;
            } else if c.is_alphabetic() {
                letters += 1;
            }
        }
        if letters == 0 {
            Lang::Unknown
        } else if cjk * 5 >= letters {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Error for an unrecognised language code.
#[derive(Debug, thiserror::Error)]
#[error("unknown language code '{0}' (expected en, zh or unknown)")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "eng" | "english" | "en-us" | "en-gb" => Ok(Lang::En),
            "zh" | "zho" | "chi" | "chinese" | "zh-cn" | "zh-hans" | "zh-tw" | "zh-hant" => {
                Ok(Lang::Zh)
            }
            "" | "unknown" | "und" => Ok(Lang::Unknown),
            other => Err(UnknownLang(other.to_string())),
        }
    }
}

/// True for CJK ideographs: the unified block, extension A, compatibility ideographs, and
/// the supplementary ideographic planes (extensions B-I, the compatibility supplement,
/// extensions G-H).
#[inline]
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FFFF
        | 0x30000..=0x323AF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_script() {
        assert_eq!(Lang::detect("肝脏大小形态正常，CT 平扫未见异常"), Lang::Zh);
        assert_eq!(Lang::detect("The liver is normal in size"), Lang::En);
        assert_eq!(Lang::detect("  123 ... "), Lang::Unknown);
        assert_eq!(Lang::detect(""), Lang::Unknown);
    }

    #[test]
    fn parses_codes() {
        assert_eq!("ZH-cn".parse::<Lang>().unwrap(), Lang::Zh);
        assert_eq!("english".parse::<Lang>().unwrap(), Lang::En);
        assert!("klingon".parse::<Lang>().is_err());
    }
}
