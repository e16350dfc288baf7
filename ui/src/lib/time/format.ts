// How times read in the window: relative for scanning ("3 min ago"), exact on hover.

const MINUTE = 60_000;

// Building an Intl.DateTimeFormat costs far more than using one, and a fast scroll through
// the feed formats hundreds of times a second: keep one per style and time zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, options: Intl.DateTimeFormatOptions, timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone ?? ""}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...options, timeZone });
    formatters.set(key, f);
  }
  return f;
}
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "40 s ago", "3 min ago", "2 h ago", "yesterday", "4 days ago", then the date. */
export function relativeTime(thenMs: number, nowMs: number, timeZone?: string): string {
  const diff = nowMs - thenMs;
  // A clock a little ahead (DreamClass's or this PC's) must not read "in 2 s".
  if (diff < 10_000) return "just now";
  if (diff < MINUTE) return `${Math.floor(diff / 1000)} s ago`;
  if (diff < HOUR) return `${Math.floor(diff / MINUTE)} min ago`;
  if (diff < DAY) return `${Math.floor(diff / HOUR)} h ago`;
  const days = calendarDaysBetween(thenMs, nowMs, timeZone);
  if (days <= 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return shortDate(thenMs, timeZone);
}

/** Whole calendar days between two instants in the given (or local) time zone. */
function calendarDaysBetween(aMs: number, bMs: number, timeZone?: string): number {
  const day = (ms: number) => {
    const [y, m, d] = isoDate(ms, timeZone).split("-").map(Number);
    return Date.UTC(y!, m! - 1, d!) / DAY;
  };
  return Math.round(day(bMs) - day(aMs));
}

/** YYYY-MM-DD of an instant in the given (or local) time zone. */
export function isoDate(ms: number, timeZone?: string): string {
  // Assembled from the parts: no locale's own format can be relied on to be YYYY-MM-DD
  // (en-CA is in Chromium, but not in the desktop window's WebKit).
  const parts = formatter("en-US", { year: "numeric", month: "2-digit", day: "2-digit" }, timeZone).formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year").padStart(4, "0")}-${part("month")}-${part("day")}`;
}

/** Today's date here, YYYY-MM-DD: the board's default day. */
export function todayIso(nowMs: number = Date.now(), timeZone?: string): string {
  return isoDate(nowMs, timeZone);
}

/** "10:42", 24-hour. */
export function clockTime(ms: number, timeZone?: string): string {
  return formatter("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false }, timeZone).format(ms);
}

/** "19 Jun 2025". */
export function shortDate(ms: number, timeZone?: string): string {
  return formatter("en-GB", { day: "numeric", month: "short", year: "numeric" }, timeZone).format(ms);
}

/** "Thu 19 Jun 2025, 10:42:05": the hover text. */
export function exactTime(ms: number, timeZone?: string): string {
  return formatter(
    "en-GB",
    { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false },
    timeZone,
  ).format(ms);
}

/** "Thu 19 Jun 2025" for a YYYY-MM-DD attendance date (a calendar day, no time zone). */
export function attendanceDate(date: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return date;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return formatter("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" }, "UTC").format(ms);
}

/** The attendance day in a feed row: "Today", "Yesterday", "Mon 14 Sept", or with the year
 * when it is not this year. `today` is YYYY-MM-DD here. */
export function shortAttendanceDate(date: string, today: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{4})-(\d{2})-(\d{2})$/.exec(today);
  if (!m || !t) return date;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const todayMs = Date.UTC(Number(t[1]), Number(t[2]) - 1, Number(t[3]));
  const days = Math.round((todayMs - ms) / DAY);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  const options: Intl.DateTimeFormatOptions =
    m[1] === t[1] ? { weekday: "short", day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" };
  return formatter("en-GB", options, "UTC").format(ms).replace(",", "");
}
