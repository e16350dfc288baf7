//! Which column separator a report uses: one a person gives (`--separator`, the UI's choice),
//! or the one Excel expects in the user's locale, where a decimal comma means `;`.

/// Reads a separator given by a person: one ASCII punctuation character or `tab`.
pub fn parse_separator(s: &str) -> Result<u8, String> {
    let sep = match s {
        "tab" | "\\t" | "\t" => b'\t',
        _ if s.len() == 1 => s.as_bytes()[0],
        _ => 0,
    };
    if sep == b'\t' || (sep.is_ascii_punctuation() && sep != b'"' && sep != b'\'') {
        Ok(sep)
    } else {
        Err(format!(
            "`{s}` cannot separate columns: use one character such as , or ; (or tab)"
        ))
    }
}

/// The separator Excel uses for "CSV" in a locale such as `de_DE.UTF-8`: `;` where the decimal
/// mark is a comma (Excel takes the list separator from the regional settings, and a comma
/// cannot be both), `,` everywhere else, including the `C`/`POSIX` locale and unknown ones.
pub fn excel_separator_for_locale(locale: &str) -> u8 {
    if decimal_mark_is_comma(locale) {
        b';'
    } else {
        b','
    }
}

/// The locale that decides number formatting, as POSIX orders it: `LC_ALL`, then
/// `LC_NUMERIC`, then `LANG` (the first that is set and not empty).
pub fn numeric_locale_from_env() -> Option<String> {
    ["LC_ALL", "LC_NUMERIC", "LANG"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.is_empty())
}

/// Whether a locale writes decimals with a comma (CLDR's decimal symbol, simplified to the
/// language with its regional exceptions).
fn decimal_mark_is_comma(locale: &str) -> bool {
    // `de_DE.UTF-8@euro` → language `de`, territory `DE`.
    let name = locale.split(['.', '@']).next().unwrap_or("");
    let mut parts = name.split(['_', '-']);
    let language = parts.next().unwrap_or("").to_ascii_lowercase();
    let territory = parts.next().unwrap_or("").to_ascii_uppercase();
    const COMMA_LANGUAGES: &[&str] = &[
        "af", "az", "be", "bg", "bs", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fo",
        "fr", "gl", "hr", "hu", "hy", "id", "is", "it", "ka", "kk", "ky", "lt", "lv", "mk", "mn",
        "nb", "nl", "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tr", "uk",
        "uz", "vi",
    ];
    // Regions that write a decimal point although their language mostly writes a comma, and
    // English-speaking regions that write a comma.
    let point_exceptions: &[&str] = match language.as_str() {
        "de" => &["CH", "LI"],
        "it" => &["CH"],
        "es" => &[
            "MX", "US", "PR", "GT", "HN", "NI", "PA", "SV", "DO", "PE", "CU",
        ],
        _ => &[],
    };
    match language.as_str() {
        "en" => matches!(territory.as_str(), "ZA" | "DK" | "DE" | "NL" | "BE" | "AT"),
        lang if COMMA_LANGUAGES.contains(&lang) => !point_exceptions.contains(&territory.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_separator_follows_the_decimal_mark_of_the_locale() {
        for locale in [
            "de_DE.UTF-8",
            "el_GR.UTF-8",
            "fr_FR",
            "es_ES.UTF-8",
            "pt_BR",
            "it_IT@euro",
            "nl_NL.utf8",
            "ru_RU.UTF-8",
            "en_ZA.UTF-8",
            "fr_CH",
            "el",
        ] {
            assert_eq!(excel_separator_for_locale(locale), b';', "{locale}");
        }
        for locale in [
            "en_US.UTF-8",
            "en_GB.UTF-8",
            "C",
            "C.UTF-8",
            "POSIX",
            "",
            "de_CH.UTF-8",
            "es_MX.UTF-8",
            "ja_JP.UTF-8",
            "zh_CN.UTF-8",
            "he_IL",
        ] {
            assert_eq!(excel_separator_for_locale(locale), b',', "{locale}");
        }
    }

    #[test]
    fn separators() {
        assert_eq!(parse_separator(";"), Ok(b';'));
        assert_eq!(parse_separator(","), Ok(b','));
        assert_eq!(parse_separator("tab"), Ok(b'\t'));
        assert_eq!(parse_separator("|"), Ok(b'|'));
        for bad in ["", ";;", "\"", "a", "1", "\n", "é"] {
            assert!(parse_separator(bad).is_err(), "{bad:?}");
        }
    }
}
