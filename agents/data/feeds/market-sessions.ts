/**
 * When a market trades: its regular sessions as UTC instants, made from an exchange calendar's
 * local dates and times (Alpaca's `GET /v2/calendar`: `{date: "2026-12-07", open: "09:30",
 * close: "16:00"}` in New York time, early closes and holidays included). A live feed reports
 * them so the data agent tells a closed market (no bars expected: nothing is stale) from a feed
 * that stopped. Pure: the time zone arithmetic uses Intl, no clock.
 */

/** One regular session: [open, close) in epoch ms. */
export interface MarketSession {
  readonly open: number;
  readonly close: number;
}

/** What a live feed knows of its market's hours: the sessions, and up to when that list is complete. */
export interface MarketHours {
  /** Regular sessions in time order. */
  readonly sessions: readonly MarketSession[];
  /** The calendar covers every day before this instant; later, nothing is known (the market may be open). */
  readonly knownUntil: number;
}

/** One calendar day as exchanges publish it: local date and local open and close times. */
export interface CalendarDay {
  /** YYYY-MM-DD. */
  readonly date: string;
  /** HH:MM, local time. */
  readonly open: string;
  readonly close: string;
}

/** The US equity market's time zone (Alpaca's calendar times are in it). */
export const NEW_YORK = 'America/New_York';

const formats = new Map<string, Intl.DateTimeFormat>();

/** Offset of `zone` from UTC at instant `t`, in ms (New York in winter: -5 h). */
function offsetAt(t: number, zone: string): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, Number(x.value)]));
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return local - Math.floor(t / 1000) * 1000;
}

/** The instant a local date and time in `zone` names (DST handled; a time skipped by DST moves forward). */
export function zonedTime(date: string, hhmm: string, zone: string): number {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const m = /^(\d{1,2}):?(\d{2})$/.exec(hhmm);
  if (!d || !m) throw new RangeError(`not a calendar date and time: ${date} ${hhmm}`);
  const wall = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(m[1]), Number(m[2]));
  const first = wall - offsetAt(wall, zone);
  const second = wall - offsetAt(first, zone);
  return second;
}

/** The regular sessions of calendar days in `zone`, in time order. */
export function sessionsOf(days: readonly CalendarDay[], zone: string = NEW_YORK): MarketSession[] {
  return days
    .map((d) => ({ open: zonedTime(d.date, d.open, zone), close: zonedTime(d.date, d.close, zone) }))
    .sort((a, b) => a.open - b.open);
}

/**
 * The market at `now`: open (with the session's open), closed (with the next open, when the
 * calendar has one), or undefined when `now` is past what the calendar covers.
 */
export function marketAt(
  hours: MarketHours,
  now: number,
): { readonly open: true; readonly since: number } | { readonly open: false; readonly next?: number } | undefined {
  if (now >= hours.knownUntil) return undefined;
  const current = hours.sessions.find((s) => s.open <= now && now < s.close);
  if (current) return { open: true, since: current.open };
  const next = hours.sessions.find((s) => s.open > now);
  return next ? { open: false, next: next.open } : { open: false };
}
