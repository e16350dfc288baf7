//! How reports are written: RFC 4180 CSV (CRLF line ends, quotes only where needed), UTF-8,
//! a header row, ISO dates and times, and the Excel variant (byte-order mark, the separator
//! and decimal mark of the user's locale, which `separator` works out). Every cell that holds text from outside Rollcall
//! (names, comments, DreamClass's kinds and ids) is neutralised against formula injection.

use std::io::Write;
use std::ops::ControlFlow;

use super::rows::Cell;

/// The byte-order mark Excel needs to read a CSV file as UTF-8 instead of the ANSI code page.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How many decimal places rates are written with: `0.9167` is 91.67%.
pub const RATE_DECIMALS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("could not read the database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("could not write the export: {0}")]
    Write(#[from] csv::Error),
    #[error("could not write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The [`Progress`] callback asked to stop (the person cancelled the export).
    #[error("the export was cancelled")]
    Cancelled,
    /// The store could not run the export at all (shutting down, no read connection).
    #[error("could not read the database: {0}")]
    Store(#[from] crate::store_error::StoreError),
}

impl ExportError {
    /// The reader went away (for example `rollcall export … | head`, or a browser that
    /// cancelled the download).
    pub fn is_broken_pipe(&self) -> bool {
        self.io_error()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The error of the file or connection written to, when writing is what failed.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match self {
            Self::Io(e) => Some(e),
            Self::Write(e) => match e.kind() {
                csv::ErrorKind::Io(e) => Some(e),
                _ => None,
            },
            Self::Database(_) | Self::Cancelled | Self::Store(_) => None,
        }
    }
}

/// Whether a spreadsheet would run this cell as a formula (or a DDE command).
fn starts_like_formula(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Spreadsheet programs run a cell that starts with one of `= + - @`, tab or carriage return
/// as a formula; a leading apostrophe makes them show it as text instead (OWASP "CSV
/// injection").
pub fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if starts_like_formula(cell.as_bytes()) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The shape of the CSV: separator, byte-order mark, decimal mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFormat {
    separator: u8,
    bom: bool,
    decimal_comma: bool,
}

impl Default for CsvFormat {
    fn default() -> Self {
        Self::plain()
    }
}

impl CsvFormat {
    /// RFC 4180: commas, decimal points, no byte-order mark.
    pub fn plain() -> Self {
        Self {
            separator: b',',
            bom: false,
            decimal_comma: false,
        }
    }

    /// For Excel: a byte-order mark, and `separator`. Where Excel expects `;` (locales whose
    /// decimal mark is a comma), decimals are written with a comma too, as Excel reads them.
    pub fn excel(separator: u8) -> Self {
        Self {
            separator,
            bom: true,
            decimal_comma: separator == b';',
        }
    }

    /// The CLI's and the API's flags: `excel` and an optional separator. Without `excel`, a
    /// separator only changes the separator.
    pub fn from_options(excel: bool, separator: Option<u8>) -> Self {
        match (excel, separator) {
            (true, sep) => Self::excel(sep.unwrap_or(b',')),
            (false, Some(sep)) => Self {
                separator: sep,
                ..Self::plain()
            },
            (false, None) => Self::plain(),
        }
    }

    pub fn separator(&self) -> u8 {
        self.separator
    }

    pub fn has_bom(&self) -> bool {
        self.bom
    }

    pub fn decimal_comma(&self) -> bool {
        self.decimal_comma
    }
}

/// Told the number of rows written so far, every [`PROGRESS_EVERY`] rows and once at the end;
/// answering [`ControlFlow::Break`] stops the export with [`ExportError::Cancelled`]. This is
/// how a progress bar follows an export and how its Cancel button stops it between two rows.
pub type Progress<'a> = &'a mut dyn FnMut(u64) -> ControlFlow<()>;

/// How often [`Progress`] is called: often enough for a smooth bar (a few hundred times a
/// second at full speed), rarely enough to cost nothing next to writing the rows.
pub const PROGRESS_EVERY: u64 = 1024;

/// A CSV writer for reports: each cell kind written one way, so the CLI and the API produce
/// the same bytes for the same rows.
pub(crate) struct CsvOut<'p, W: Write> {
    csv: csv::Writer<W>,
    format: CsvFormat,
    scratch: Vec<u8>,
    rows: u64,
    progress: Progress<'p>,
}

impl<'p, W: Write> CsvOut<'p, W> {
    pub fn new(mut out: W, format: CsvFormat, progress: Progress<'p>) -> Result<Self, ExportError> {
        if format.bom {
            out.write_all(UTF8_BOM)?;
        }
        let csv = csv::WriterBuilder::new()
            .delimiter(format.separator)
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(64 * 1024)
            .from_writer(out);
        Ok(Self {
            csv,
            format,
            scratch: Vec::with_capacity(256),
            rows: 0,
            progress,
        })
    }

    pub fn header(&mut self, names: &[&str]) -> Result<(), ExportError> {
        self.csv.write_record(names)?;
        Ok(())
    }

    /// A cell Rollcall itself wrote (a date it validated, a category, `yes`).
    pub fn trusted(&mut self, cell: &str) -> Result<(), ExportError> {
        self.csv.write_field(cell)?;
        Ok(())
    }

    /// Text from outside (DreamClass, a teacher, the office): neutralised.
    pub fn text(&mut self, cell: &[u8]) -> Result<(), ExportError> {
        if starts_like_formula(cell) {
            self.scratch.clear();
            self.scratch.push(b'\'');
            self.scratch.extend_from_slice(cell);
            self.csv.write_field(&self.scratch)?;
        } else {
            self.csv.write_field(cell)?;
        }
        Ok(())
    }

    pub fn int(&mut self, value: i64) -> Result<(), ExportError> {
        let mut buf = [0u8; 20];
        self.csv.write_field(format_i64(value, &mut buf))?;
        Ok(())
    }

    pub fn empty(&mut self) -> Result<(), ExportError> {
        self.csv.write_field([])?;
        Ok(())
    }

    /// A database value as it is: NULL empty, integers in decimal, text neutralised.
    pub fn value(&mut self, value: Cell<'_>) -> Result<(), ExportError> {
        match value {
            Cell::Null => self.empty(),
            Cell::Int(i) => self.int(i),
            Cell::Real(f) => self.trusted(&f.to_string()),
            Cell::Text(t) => self.text(t),
        }
    }

    /// Milliseconds since the Unix epoch as `2026-11-02T08:15:00.000Z`.
    pub fn time(&mut self, ms: i64) -> Result<(), ExportError> {
        let mut buf = [0u8; 24];
        match format_iso_utc(ms, &mut buf) {
            Some(t) => self.csv.write_field(t)?,
            None => self.csv.write_field([])?,
        }
        Ok(())
    }

    /// `numerator / denominator` with [`RATE_DECIMALS`] places, rounded half up, in the
    /// format's decimal mark; empty when the denominator is 0.
    pub fn rate(&mut self, numerator: i64, denominator: i64) -> Result<(), ExportError> {
        let text = format_rate(numerator, denominator, self.format.decimal_comma);
        self.csv.write_field(text)?;
        Ok(())
    }

    pub fn end_row(&mut self) -> Result<(), ExportError> {
        self.csv.write_record(None::<&[u8]>)?;
        self.rows += 1;
        if self.rows.is_multiple_of(PROGRESS_EVERY) && (self.progress)(self.rows).is_break() {
            return Err(ExportError::Cancelled);
        }
        Ok(())
    }

    /// Flushes and returns the number of rows written (the header not counted).
    pub fn finish(mut self) -> Result<u64, ExportError> {
        self.csv.flush()?;
        // Everything is written: a late cancel no longer matters.
        let _ = (self.progress)(self.rows);
        Ok(self.rows)
    }
}

/// `numerator / denominator` with [`RATE_DECIMALS`] places, rounded half up, computed on
/// integers so the same counts always give the same text. Empty when the denominator is 0.
pub fn format_rate(numerator: i64, denominator: i64, decimal_comma: bool) -> String {
    if denominator <= 0 || numerator < 0 {
        return String::new();
    }
    let scale = 10i128.pow(RATE_DECIMALS);
    let (n, d) = (numerator as i128, denominator as i128);
    let scaled = (2 * n * scale + d) / (2 * d);
    let mark = if decimal_comma { ',' } else { '.' };
    format!(
        "{}{mark}{:0width$}",
        scaled / scale,
        scaled % scale,
        width = RATE_DECIMALS as usize
    )
}

/// A rate as a JSON number with [`RATE_DECIMALS`] places (for the summary API).
pub fn rate_number(numerator: i64, denominator: i64) -> f64 {
    format_rate(numerator, denominator, false)
        .parse()
        .unwrap_or(0.0)
}

fn format_i64(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = value.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// `2026-11-02T08:15:00.000Z`, written by hand because a million rows through chrono's
/// formatter cost more than the rest of the export. `None` for years outside 0..=9999.
fn format_iso_utc(ms: i64, buf: &mut [u8; 24]) -> Option<&[u8]> {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, h, 2);
    put(14, m, 2);
    put(17, s, 2);
    put(20, milli, 3);
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'.';
    buf[23] = b'Z';
    Some(&buf[..])
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `rows` one-cell rows, recording every progress call; cancels at `cancel_at`.
    fn write_rows(rows: u64, cancel_at: Option<u64>) -> (Result<u64, ExportError>, Vec<u64>) {
        let mut seen = Vec::new();
        let mut progress = |n: u64| {
            seen.push(n);
            if cancel_at == Some(n) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let result = (|| {
            let mut csv = CsvOut::new(std::io::sink(), CsvFormat::plain(), &mut progress)?;
            for i in 0..rows {
                csv.int(i as i64)?;
                csv.end_row()?;
            }
            csv.finish()
        })();
        (result, seen)
    }

    #[test]
    fn progress_is_told_every_1024_rows_and_at_the_end() {
        let (result, seen) = write_rows(2500, None);
        assert_eq!(result.unwrap(), 2500);
        assert_eq!(seen, [1024, 2048, 2500]);
        let (result, seen) = write_rows(0, None);
        assert_eq!(result.unwrap(), 0);
        assert_eq!(seen, [0]);
    }

    #[test]
    fn progress_can_cancel_between_rows() {
        let (result, seen) = write_rows(5000, Some(2048));
        assert!(matches!(result, Err(ExportError::Cancelled)), "{result:?}");
        assert_eq!(seen, [1024, 2048]);
        assert!(!ExportError::Cancelled.is_broken_pipe());
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralise_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralise_formula("+1"), "'+1");
        assert_eq!(neutralise_formula("-1"), "'-1");
        assert_eq!(neutralise_formula("@SUM"), "'@SUM");
        assert_eq!(neutralise_formula("\tx"), "'\tx");
        assert_eq!(neutralise_formula("\rx"), "'\rx");
        assert_eq!(neutralise_formula("late, bus"), "late, bus");
        assert_eq!(neutralise_formula(""), "");
    }

    #[test]
    fn times_match_chrono() {
        let samples = [
            0,
            1,
            999,
            86_399_999,
            951_782_400_000,   // 2000-02-29
            1_798_761_599_999, // 2026-12-31T23:59:59.999
            1_762_072_500_123,
            -1,
            -62_135_596_800_000, // 0001-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
        ];
        for ms in samples
            .into_iter()
            .chain((0..2000).map(|i| i * 7_919_000_017))
        {
            let mut buf = [0u8; 24];
            let ours = std::str::from_utf8(format_iso_utc(ms, &mut buf).unwrap()).unwrap();
            let chrono = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(ours, chrono, "{ms}");
        }
        let mut buf = [0u8; 24];
        assert!(format_iso_utc(253_402_300_800_000, &mut buf).is_none());
    }

    #[test]
    fn integers_are_written_in_full() {
        for v in [0, 7, -7, 10, 1234567890, i64::MAX, i64::MIN] {
            let mut buf = [0u8; 20];
            assert_eq!(format_i64(v, &mut buf), v.to_string().as_bytes());
        }
    }

    #[test]
    fn rates_have_four_places_rounded_half_up() {
        assert_eq!(format_rate(11, 12, false), "0.9167");
        assert_eq!(format_rate(1, 8, false), "0.1250");
        assert_eq!(format_rate(1, 3, true), "0,3333");
        assert_eq!(format_rate(2, 3, false), "0.6667");
        assert_eq!(format_rate(1, 20000, false), "0.0001"); // 0.00005 rounds up
        assert_eq!(format_rate(5, 5, false), "1.0000");
        assert_eq!(format_rate(0, 5, false), "0.0000");
        assert_eq!(format_rate(1, 0, false), "");
        assert_eq!(rate_number(11, 12), 0.9167);
    }

    #[test]
    fn formats() {
        assert_eq!(CsvFormat::from_options(false, None), CsvFormat::plain());
        let excel = CsvFormat::from_options(true, Some(b';'));
        assert!(excel.has_bom() && excel.decimal_comma() && excel.separator() == b';');
        let excel = CsvFormat::from_options(true, None);
        assert!(excel.has_bom() && !excel.decimal_comma() && excel.separator() == b',');
        let semicolons = CsvFormat::from_options(false, Some(b';'));
        assert!(!semicolons.has_bom() && !semicolons.decimal_comma());
    }
}
