import { parsePhoneNumberWithError, validatePhoneNumberLength, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';

/** A mobile number as stored: E.164, the region it belongs to, and what staff typed. */
export interface MobileNumber {
  e164: string;
  region: string;
  raw: string;
}

export type MobileResult = { ok: true; phone: MobileNumber } | { ok: false; reason: string };

/**
 * Regions of the French 10-digit numbering plan (trunk prefix 0): a national number typed
 * anywhere in it reaches the same line, so 0692 01 02 03 entered by a Paris org is the
 * Réunion mobile +262 692 01 02 03, and 06 12 34 56 78 entered by a Réunion org is a
 * metropolitan mobile.
 */
const FRENCH_PLAN: readonly CountryCode[] = ['FR', 'GP', 'BL', 'MF', 'MQ', 'GF', 'RE', 'YT'];

/** Where SMS may be sent: metropolitan France and the overseas regions an org can be in. */
export const SMS_REGIONS: readonly string[] = [...FRENCH_PLAN, 'PM'];

const ALLOWED_CHARACTERS = /^\+?[\d\s.\-()/]+$/;

const TYPE_NAMES: Record<string, string> = {
  FIXED_LINE: 'a landline number',
  PREMIUM_RATE: 'a premium-rate number',
  TOLL_FREE: 'a toll-free number',
  SHARED_COST: 'a shared-cost number',
  VOIP: 'an internet (VoIP) number',
  PERSONAL_NUMBER: 'a personal (forwarding) number',
  PAGER: 'a pager number',
  UAN: 'a company (UAN) number',
  VOICEMAIL: 'a voicemail number',
  FIXED_LINE_OR_MOBILE: 'a number that may be a landline',
};

const isNationalForm = (digits: string) => digits.startsWith('0') && !digits.startsWith('00');

function tryParse(raw: string, region: CountryCode): PhoneNumber | null {
  try {
    return parsePhoneNumberWithError(raw, region);
  } catch {
    return null;
  }
}

/**
 * Reads a mobile number typed by staff, in the org's region (its default for national
 * numbers). Accepts mobiles of metropolitan France and its overseas regions in any usual
 * form (spaces, dots, dashes, +33 / 0033); refuses landlines, short, premium and other
 * special numbers, foreign numbers and garbage, saying why. Pure.
 */
export function parseMobile(rawInput: string, orgRegion: string): MobileResult {
  const raw = rawInput.trim();
  const quoted = `"${raw}"`;
  if (raw === '') return { ok: false, reason: 'is empty: SMS needs a mobile number' };
  if (!ALLOWED_CHARACTERS.test(raw)) {
    return { ok: false, reason: `${quoted} is not a phone number: use digits, spaces, dots or dashes, and + for the country code` };
  }
  const region = orgRegion.toUpperCase() as CountryCode;
  let parsed = tryParse(raw, region);
  if (!parsed) return { ok: false, reason: `${quoted} is not a phone number` };

  const digits = raw.replace(/\D/g, '');
  if (!parsed.isValid() && !raw.startsWith('+') && isNationalForm(digits) && SMS_REGIONS.includes(region)) {
    // Prefixes of the French plan do not overlap, so at most one region reads it as a valid number.
    const elsewhere = FRENCH_PLAN.filter((r) => r !== region)
      .map((r) => tryParse(raw, r))
      .find((p) => p?.isValid());
    if (elsewhere) parsed = elsewhere;
  }

  if (!parsed.isValid()) {
    const length = validatePhoneNumberLength(raw, region);
    if (length === 'TOO_SHORT') {
      return { ok: false, reason: `${quoted} is too short: short and service numbers cannot receive SMS, a mobile number is needed` };
    }
    if (length === 'TOO_LONG') return { ok: false, reason: `${quoted} is too long for a phone number` };
    return { ok: false, reason: `${quoted} is not a number in service (read in region ${parsed.country ?? region})` };
  }
  const type = parsed.getType();
  if (type !== 'MOBILE') {
    return { ok: false, reason: `${quoted} is ${TYPE_NAMES[type ?? ''] ?? 'not a mobile number'}: SMS needs a mobile number` };
  }
  const numberRegion = parsed.country ?? region;
  if (!SMS_REGIONS.includes(numberRegion)) {
    return {
      ok: false,
      reason: `${quoted} is a mobile number of region ${numberRegion}: SMS are sent only to mobiles of France and its overseas regions`,
    };
  }
  return { ok: true, phone: { e164: parsed.number, region: numberRegion, raw } };
}
