//! What an attendance status means for reports and colours. DreamClass lets each school name
//! its statuses, so the category is guessed from the name (English, Greek and a few other
//! languages) and the user can correct it.

/// The category lives in the core, which reports count by; it is re-exported here where it
/// is guessed.
pub use rollcall_core::model::StatusCategory;

/// Word stems per category, written lower case without accents. Checked in this order, so a
/// more specific phrase ("unexcused", "αδικαιολόγητη", "left early") wins over the word it
/// contains ("excused", "δικαιολογημένη", ...).
const RULES: &[(StatusCategory, &[&str])] = &[
    (
        StatusCategory::Absent,
        &[
            "unexcused",
            "unauthori",
            "unjustified",
            "not present",
            "αδικαιολογ",
            "injustifi",
            "no justificad",
        ],
    ),
    (
        StatusCategory::Other,
        &[
            "left early",
            "leave early",
            "early leave",
            "early departure",
            "αποχωρ",
        ],
    ),
    (
        StatusCategory::Excused,
        &[
            "excused",
            "authori",
            "justified",
            "medical",
            "sick",
            "δικαιολογ",
            "αιτιολογ",
            "justific",
            "entschuldigt",
        ],
    ),
    (
        StatusCategory::Late,
        &[
            "late",
            "tardy",
            "delay",
            "καθυστερ",
            "αργοπορ",
            "αργησ",
            "retard",
            "tarde",
            "retraso",
            "verspat",
        ],
    ),
    (
        StatusCategory::Absent,
        &[
            "absent",
            "absence",
            "missing",
            "no show",
            "απων",
            "απουσ",
            "ausente",
            "falta",
            "abwesend",
            "fehlt",
        ],
    ),
    (
        StatusCategory::Present,
        &[
            "present",
            "attended",
            "attending",
            "here",
            "on time",
            "παρων",
            "παρουσ",
            "asistio",
            "presente",
            "anwesend",
        ],
    ),
];

/// The category a status name most likely means; [`StatusCategory::Other`] when unsure.
pub fn guess_category(name: &str, hint: Option<&str>) -> StatusCategory {
    if let Some(category) = hint.and_then(StatusCategory::parse) {
        return category;
    }
    let folded = fold(name);
    for (category, stems) in RULES {
        if stems.iter().any(|stem| folded.contains(stem)) {
            return *category;
        }
    }
    StatusCategory::Other
}

/// Lower case, accents removed (Greek tonos and dialytika, common Latin ones), final sigma
/// as sigma, and runs of anything else as one space.
fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let plain = match c {
            'ά' => 'α',
            'έ' => 'ε',
            'ή' => 'η',
            'ί' | 'ϊ' | 'ΐ' => 'ι',
            'ό' => 'ο',
            'ύ' | 'ϋ' | 'ΰ' => 'υ',
            'ώ' => 'ω',
            'ς' => 'σ',
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        if plain == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(plain);
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusCategory::*;

    #[test]
    fn english_and_greek_names() {
        let cases = [
            ("Present", Present),
            ("On time", Present),
            ("Absent", Absent),
            ("Unexcused absence", Absent),
            ("Not present", Absent),
            ("Late", Late),
            ("Tardy (10 min)", Late),
            ("Excused", Excused),
            ("Excused absence", Excused),
            ("Authorised absence", Excused),
            ("Left early", Other),
            ("Field trip", Other),
            ("Παρών", Present),
            ("ΠΑΡΟΥΣΑ", Present),
            ("Απών", Absent),
            ("Απουσία", Absent),
            ("Αδικαιολόγητη απουσία", Absent),
            ("Δικαιολογημένη απουσία", Excused),
            ("Καθυστέρηση", Late),
            ("Αργοπορία", Late),
            ("Αποχώρησε νωρίτερα", Other),
            ("Retard", Late),
            ("Ausente", Absent),
        ];
        for (name, expected) in cases {
            assert_eq!(guess_category(name, None), expected, "{name}");
        }
    }

    #[test]
    fn a_category_field_from_the_api_wins() {
        assert_eq!(guess_category("P", Some("present")), Present);
        assert_eq!(guess_category("Late", Some("SOMETHING")), Late);
    }
}
