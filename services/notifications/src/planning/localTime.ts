import { DateTime } from 'luxon';

/**
 * An instant as the org reads it, so a client need not know the zone's rules: ISO 8601 with
 * the zone's offset at that instant ("2021-10-13T19:00:00+02:00"), and seed 001's French form
 * ("13/10/2021 à 19:00"). Pure.
 */
export function localTime(at: Date, zone: string): { iso: string; label: string } {
  let local = DateTime.fromJSDate(at, { zone });
  // Zones are checked on input; should one be unknown to this runtime, UTC still shows the instant right.
  if (!local.isValid) local = DateTime.fromJSDate(at, { zone: 'UTC' });
  return { iso: local.toISO({ suppressMilliseconds: true })!, label: local.toFormat("dd/LL/yyyy 'à' HH:mm") };
}
