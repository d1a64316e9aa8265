import { DateTime } from 'luxon';

/** ISO weekday as luxon numbers it: 1 = Monday ... 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Seed 001: SMS go out on Tuesdays and Thursdays at 19:00, in the org's own time zone. */
export const DEFAULT_SEND_DAYS: Weekday[] = [2, 4];
export const SLOT_HOUR = 19;

const atHour = (day: DateTime, hour: number) => day.set({ hour, minute: 0, second: 0, millisecond: 0 });

/** The first send slot strictly after `after`. Computed in `zone`, never with the server's clock. */
export function nextSlot(after: Date, days: readonly Weekday[], zone: string, hour = SLOT_HOUR): Date {
  const start = DateTime.fromJSDate(after, { zone }).startOf('day');
  for (let i = 0; i <= 7; i++) {
    const candidate = atHour(start.plus({ days: i }), hour);
    if (days.includes(candidate.weekday as Weekday) && candidate.toMillis() > after.getTime()) return candidate.toJSDate();
  }
  throw new Error('no send day configured');
}

/** The last send slot at or before `at`. */
export function previousSlot(at: Date, days: readonly Weekday[], zone: string, hour = SLOT_HOUR): Date {
  const start = DateTime.fromJSDate(at, { zone }).startOf('day');
  for (let i = 0; i <= 7; i++) {
    const candidate = atHour(start.minus({ days: i }), hour);
    if (days.includes(candidate.weekday as Weekday) && candidate.toMillis() <= at.getTime()) return candidate.toJSDate();
  }
  throw new Error('no send day configured');
}

/**
 * When the end-of-domiciliation reminder goes out: 19:00 local, two months before the
 * end date. Luxon clamps to the month's last day, so 31 May -> 31 March and
 * 30 April -> 28 (or 29) February: no date vanishes and none fires twice.
 */
export function reminderAt(endDate: string, zone: string, hour = SLOT_HOUR): Date {
  const end = DateTime.fromISO(endDate, { zone });
  if (!end.isValid) throw new Error(`invalid end date ${endDate}`);
  return atHour(end.minus({ months: 2 }), hour).toJSDate();
}

/** Names an org's schedule (its send days and zone): the slots it gives change when this changes. */
export const scheduleKey = (days: readonly Weekday[], zone: string): string => `${[...days].sort().join(',')}@${zone}`;

/** The calendar date (YYYY-MM-DD) of an instant in `zone`: the day a slot falls on for the org. */
export function localDate(at: Date, zone: string): string {
  const day = DateTime.fromJSDate(at, { zone }).toISODate();
  if (!day) throw new Error(`invalid time zone ${zone}`);
  return day;
}

/** A slot is still worth sending if it is no later than `maxLatenessMs` past due. */
export function isTooLate(dueAt: Date, now: Date, maxLatenessMs: number): boolean {
  return now.getTime() - dueAt.getTime() > maxLatenessMs;
}
