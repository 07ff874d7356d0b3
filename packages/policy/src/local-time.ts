/** Wall-clock fields of an instant in an IANA timezone, as time windows read them. */
export interface LocalTime {
  /** 0 = Sunday … 6 = Saturday */
  dayOfWeek: number;
  /** 0–23 */
  hour: number;
  /** YYYY-MM-DD */
  date: string;
  /** The same date as the number YYYYMMDD, as Cedar policies compare it. */
  dateNumber: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat | null>();
// Local fields only change on a minute boundary (every offset in use is whole minutes), so decisions
// within the same minute share one formatToParts call.
const lastByZone = new Map<string, { minute: number; value: LocalTime | null }>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        weekday: 'short',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
      });
    } catch {
      formatter = null;
    }
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isValidTimeZone(timeZone: string): boolean {
  return formatterFor(timeZone) !== null;
}

/**
 * Local day of week, hour and date of `time` in `timeZone`, or null when either is invalid (an unknown
 * timezone or an invalid date): the engine then treats the local time as unknown, which fails closed.
 */
export function localTimeIn(time: Date, timeZone: string): LocalTime | null {
  const ms = time.getTime();
  if (!Number.isFinite(ms)) return null;
  const minute = Math.floor(ms / 60_000);
  const last = lastByZone.get(timeZone);
  if (last && last.minute === minute) return last.value;

  const formatter = formatterFor(timeZone);
  let value: LocalTime | null = null;
  if (formatter) {
    const parts: Record<string, string> = {};
    for (const part of formatter.formatToParts(time)) parts[part.type] = part.value;
    const dayOfWeek = WEEKDAYS[parts.weekday];
    const hour = Number(parts.hour) % 24;
    if (dayOfWeek !== undefined && /^\d{4}$/.test(parts.year) && Number.isInteger(hour)) {
      value = { dayOfWeek, hour, date: `${parts.year}-${parts.month}-${parts.day}`, dateNumber: Number(`${parts.year}${parts.month}${parts.day}`) };
    }
  }
  if (lastByZone.size > 1000) lastByZone.clear();
  lastByZone.set(timeZone, { minute, value });
  return value;
}
