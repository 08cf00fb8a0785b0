// Numbers, changes and dates as the page shows them. Dates stay strings (YYYY-MM-DD, or the local
// times the API answers with): they are already in the chosen time zone, so nothing here converts them.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** 1234567 → "1,234,567". */
export function count(value) {
  return integer.format(value);
}

/** 1234567 → "1.2M": for axis labels. */
export function compact(value) {
  if (value >= 1e9) return trim(value / 1e9) + "B";
  if (value >= 1e6) return trim(value / 1e6) + "M";
  if (value >= 1e4) return trim(value / 1e3) + "k";
  return count(value);
}

function trim(value) {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/**
 * The change from `previous` to `current` as the page shows it: a whole percentage rounded half up
 * ("+12%", "−5%", "0%"), "new" from nothing, "" when both are zero.
 */
export function change(current, previous) {
  if (previous === 0) return current === 0 ? "" : "new";
  const percent = Math.floor(((current - previous) / previous) * 100 + 0.5);
  if (percent > 0) return "+" + count(percent) + "%";
  if (percent < 0) return "\u2212" + count(-percent) + "%";
  return "0%";
}

/** "2026-11-05" → "5 Nov 2026"; `year: false` leaves the year out. */
export function day(text, { year = true } = {}) {
  const [y, m, d] = text.split("-");
  return `${Number(d)} ${MONTHS[Number(m) - 1]}` + (year ? ` ${y}` : "");
}

/** A bucket's start ("2026-11-05T14:00:00+01:00") as its label for `interval`. */
export function bucket(start, interval) {
  if (interval === "hour") return start.slice(11, 16);
  if (interval === "month") return `${MONTHS[Number(start.slice(5, 7)) - 1]} ${start.slice(0, 4)}`;
  return day(start.slice(0, 10), { year: false });
}

/** The same, in full, for the readout and tooltips. */
export function bucketInFull(start, interval) {
  if (interval === "hour") return `${day(start.slice(0, 10))} ${start.slice(11, 16)} (UTC${start.slice(19) || "+00:00"})`;
  if (interval === "month") return bucket(start, interval);
  if (interval === "week") return `Week of ${day(start.slice(0, 10))}`;
  return day(start.slice(0, 10));
}

/** "from – to", or one day. */
export function period(from, to) {
  if (from === to) return day(from);
  if (from.slice(0, 4) === to.slice(0, 4)) return `${day(from, { year: false })} \u2013 ${day(to)}`;
  return `${day(from)} \u2013 ${day(to)}`;
}
