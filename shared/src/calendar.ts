import { z } from 'zod';

/** The zone of an org that has not chosen one: mainland France's. */
export const DEFAULT_TIME_ZONE = 'Europe/Paris';

/**
 * An IANA zone name Intl knows (Europe/Paris, Indian/Reunion, America/Martinique, UTC). Offsets
 * ("+02:00") and abbreviations are refused: an org's calendar follows its region's daylight saving.
 */
export function isTimeZone(zone: string): boolean {
  if (!(zone.includes('/') || zone === 'UTC')) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A request field holding an org's time zone. */
export const timeZone = z
  .string()
  .min(1, 'cannot be empty')
  .max(64, 'must be at most 64 characters')
  .refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Paris, Indian/Reunion or America/Martinique' });

/** The calendar date (YYYY-MM-DD) at `now` in an IANA time zone: the org's calendar, never the server's. */
export function todayIn(zone: string, now: Date): string {
  // en-CA formats dates as YYYY-MM-DD. An unknown zone throws a RangeError.
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
