// The ranges of the picker, as calendar days in a time zone. Days are "YYYY-MM-DD" strings and their
// arithmetic is done on UTC midnights, where every day has 24 hours; only "today" depends on the zone.

export const RANGES = [
  ["today", "Today"],
  ["yesterday", "Yesterday"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["mtd", "Month to date"],
  ["lastmonth", "Last month"],
  ["12mo", "Last 12 months"],
  ["custom", "Custom"],
];

const DAY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
// The reporting API's pattern for zone names (stats-query.schema.json#/$defs/tz).
const ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
// At most this many buckets in a series (the API's limit is 1,000).
const MAXIMUM_DAYS_BY_DAY = 366;

export function isDay(text) {
  if (typeof text !== "string" || !DAY.test(text)) return false;
  const time = utc(text);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === text;
}

export function isZone(text) {
  return typeof text === "string" && text.length <= 64 && ZONE.test(text);
}

/** The browser's time zone, or UTC when it has none the API could take. */
export function browserZone() {
  let zone;
  try {
    zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    zone = undefined;
  }
  return isZone(zone) && zone !== "Etc/Unknown" ? zone : "UTC";
}

/** Today's date in `zone` at `now`. */
export function todayIn(zone, now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(now);
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

// Not Date.UTC, which reads the years 0 to 99 as 1900 to 1999.
function utcDate(year, monthIndex, day) {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

function utc(text) {
  return utcDate(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)));
}

function text(milliseconds) {
  return new Date(milliseconds).toISOString().slice(0, 10);
}

export function addDays(day, days) {
  return text(utc(day) + days * 86400000);
}

/** Days from `from` to `to`, both counted. */
export function length(from, to) {
  return Math.round((utc(to) - utc(from)) / 86400000) + 1;
}

function firstOfMonth(day, monthsBack = 0) {
  const date = new Date(utc(day));
  return text(utcDate(date.getUTCFullYear(), date.getUTCMonth() - monthsBack, 1));
}

/**
 * The days, bucket and comparison of a picker state ({range, from, to}) on `today`: null when a custom
 * range is incomplete or out of order. The comparison is the period of as many days just before, as
 * Plausible compares (today against all of yesterday, month to date against the days before it).
 */
export function resolve(state, today) {
  let from, to, interval = "day";
  switch (state.range) {
    case "today": from = to = today; interval = "hour"; break;
    case "yesterday": from = to = addDays(today, -1); interval = "hour"; break;
    case "7d": from = addDays(today, -6); to = today; break;
    case "30d": from = addDays(today, -29); to = today; break;
    case "mtd": from = firstOfMonth(today); to = today; break;
    case "lastmonth": from = firstOfMonth(today, 1); to = addDays(firstOfMonth(today), -1); break;
    case "12mo": from = firstOfMonth(today, 11); to = today; interval = "month"; break;
    case "custom":
      if (!isDay(state.from) || !isDay(state.to) || state.to < state.from) return null;
      from = state.from; to = state.to;
      const days = length(from, to);
      interval = days === 1 ? "hour" : days <= MAXIMUM_DAYS_BY_DAY ? "day" : "month";
      break;
    default: return null;
  }
  const days = length(from, to);
  return { from, to, interval, previous: { from: addDays(from, -days), to: addDays(from, -1) } };
}
