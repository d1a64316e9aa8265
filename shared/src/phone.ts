import { parsePhoneNumberWithError, validatePhoneNumberLength, type CountryCode, type PhoneNumber, type PhoneNumberType } from 'libphonenumber-js/max';

/**
 * Phone numbers typed by staff, read the same way by every service: libphonenumber-js with its
 * max metadata (the only one that tells a mobile from a landline), in the org's region. Pure.
 */

/** What a valid number is, as libphonenumber-js reports it; UNKNOWN when its metadata cannot tell. */
export type PhoneLineType = PhoneNumberType | 'UNKNOWN';

/** A phone number as stored: E.164, the region it belongs to, what staff typed, and its line type. */
export interface ParsedPhone {
  e164: string;
  region: string;
  raw: string;
  lineType: PhoneLineType;
}

/** Why a text is not a phone number in service; `reason` says it to a person. */
export type PhoneFailure = 'empty' | 'characters' | 'unreadable' | 'too-short' | 'too-long' | 'not-in-service';

export type PhoneResult = { ok: true; phone: ParsedPhone } | { ok: false; failure: PhoneFailure; reason: string };

/**
 * Regions of the French 10-digit numbering plan (trunk prefix 0): a national number typed
 * anywhere in it reaches the same line, so 0692 01 02 03 entered by a Paris org is the
 * Réunion mobile +262 692 01 02 03, and 06 12 34 56 78 entered by a Réunion org is a
 * metropolitan mobile.
 */
export const FRENCH_PLAN: readonly CountryCode[] = ['FR', 'GP', 'BL', 'MF', 'MQ', 'GF', 'RE', 'YT'];

/** Metropolitan France and the overseas regions an org can be in; also where SMS may be sent. */
export const FRENCH_REGIONS: readonly string[] = [...FRENCH_PLAN, 'PM'];

/** Where SMS may be sent: metropolitan France and the overseas regions an org can be in. */
export const SMS_REGIONS = FRENCH_REGIONS;

const ALLOWED_CHARACTERS = /^\+?[\d\s.\-()/]+$/;

const LINE_TYPE_NAMES: Record<PhoneLineType, string> = {
  MOBILE: 'a mobile number',
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
  UNKNOWN: 'a number of unknown type',
};

/** "a landline number", "a toll-free number"...: what a line type is, for messages. */
export const lineTypeName = (type: PhoneLineType): string => LINE_TYPE_NAMES[type];

const isNationalForm = (digits: string) => digits.startsWith('0') && !digits.startsWith('00');

function tryParse(raw: string, region: CountryCode): PhoneNumber | null {
  try {
    return parsePhoneNumberWithError(raw, region);
  } catch {
    return null;
  }
}

const failed = (failure: PhoneFailure, reason: string): PhoneResult => ({ ok: false, failure, reason });

/**
 * Reads a phone number typed by staff, in the org's region (its default for national
 * numbers), in any usual form (spaces, dots, dashes, +33 / 0033, (0)). A national number of
 * the French plan that is not valid in the org's region is read in the region where it is,
 * if one. Any valid number of any country is accepted, with its line type: callers decide
 * which types they take. Refuses short and service numbers, numbers not in service and
 * garbage, saying why. Pure.
 */
export function parsePhone(rawInput: string, orgRegion: string): PhoneResult {
  const raw = rawInput.trim();
  const quoted = `"${raw}"`;
  if (raw === '') return failed('empty', 'is empty');
  if (!ALLOWED_CHARACTERS.test(raw)) {
    return failed('characters', `${quoted} is not a phone number: use digits, spaces, dots or dashes, and + for the country code`);
  }
  const region = orgRegion.toUpperCase() as CountryCode;
  let parsed = tryParse(raw, region);
  if (!parsed) return failed('unreadable', `${quoted} is not a phone number`);

  const digits = raw.replace(/\D/g, '');
  if (!parsed.isValid() && !raw.startsWith('+') && isNationalForm(digits) && FRENCH_REGIONS.includes(region)) {
    // Prefixes of the French plan do not overlap, so at most one region reads it as a valid number.
    const elsewhere = FRENCH_PLAN.filter((r) => r !== region)
      .map((r) => tryParse(raw, r))
      .find((p) => p?.isValid());
    if (elsewhere) parsed = elsewhere;
  }

  if (!parsed.isValid()) {
    const length = validatePhoneNumberLength(raw, region);
    if (length === 'TOO_SHORT') return failed('too-short', `${quoted} is too short: short and service numbers are not accepted`);
    if (length === 'TOO_LONG') return failed('too-long', `${quoted} is too long for a phone number`);
    return failed('not-in-service', `${quoted} is not a number in service (read in region ${parsed.country ?? region})`);
  }
  return {
    ok: true,
    phone: { e164: parsed.number, region: parsed.country ?? region, raw, lineType: parsed.getType() ?? 'UNKNOWN' },
  };
}

/** A mobile number for SMS as stored: E.164, the region it belongs to, and what staff typed. */
export interface MobileNumber {
  e164: string;
  region: string;
  raw: string;
}

export type MobileResult = { ok: true; phone: MobileNumber } | { ok: false; reason: string };

/**
 * Reads a mobile number that SMS will be sent to (the SMS consent): parsePhone, then only
 * mobiles of metropolitan France and its overseas regions; refuses landlines, short, premium
 * and other special numbers, foreign numbers and garbage, saying why in SMS terms. Pure.
 */
export function parseMobile(rawInput: string, orgRegion: string): MobileResult {
  const read = parsePhone(rawInput, orgRegion);
  const quoted = `"${rawInput.trim()}"`;
  if (!read.ok) {
    if (read.failure === 'empty') return { ok: false, reason: 'is empty: SMS needs a mobile number' };
    if (read.failure === 'too-short') {
      return { ok: false, reason: `${quoted} is too short: short and service numbers cannot receive SMS, a mobile number is needed` };
    }
    return { ok: false, reason: read.reason };
  }
  const { e164, region, raw, lineType } = read.phone;
  if (lineType !== 'MOBILE') {
    const what = lineType === 'UNKNOWN' ? 'not a mobile number' : lineTypeName(lineType);
    return { ok: false, reason: `${quoted} is ${what}: SMS needs a mobile number` };
  }
  if (!SMS_REGIONS.includes(region)) {
    return {
      ok: false,
      reason: `${quoted} is a mobile number of region ${region}: SMS are sent only to mobiles of France and its overseas regions`,
    };
  }
  return { ok: true, phone: { e164, region, raw } };
}

/** A stored E.164 number as people read it: "+33 6 12 34 56 78", "+262 692 01 02 03". */
export function formatPhone(e164: string): string {
  return tryParse(e164, 'FR')?.formatInternational() ?? e164;
}
