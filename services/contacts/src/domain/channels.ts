import { domainToASCII } from 'node:url';
import {
  AppError,
  FRENCH_REGIONS,
  conflict,
  formatPhone,
  lineTypeName,
  parsePhone,
  validationError,
  type FieldProblem,
  type ParsedPhone,
} from '@relais/shared';
import { searchText } from '../contract/parsing';
import type { ChannelKind, EmailType, PhoneType, QualificationState } from '../contract/vocabulary';
import type { CheckedObservation } from './observation';
import type { Qualification } from './qualification';

/**
 * A party's contact channels (seeds 000 and 002): phones, e-mail addresses and postal
 * addresses, several of each, with one primary channel per party (the star of seed 000).
 * Pure functions: ids, clock and user come from the caller; results are plain data, and a
 * refusal is a problem with a message a person can act on (problemError maps it to 404/409/422).
 * The kinds and types of channels are the contract's (contract/vocabulary.ts).
 */

/** A postal address in the lines of the French standard (NF Z10-011); the recipient is the party. */
export interface PostalAddress {
  /** Number and street: "12 rue des Lilas". */
  street: string;
  /** Building, residence, floor: "Résidence Les Palmiers, bât. B". */
  complement?: string;
  /** Lieu-dit, BP or other distribution detail: "Lieu-dit Bellemène", "BP 45". */
  locality?: string;
  /** Five digits in France and its overseas regions; optional elsewhere, where some countries have none. */
  postalCode?: string;
  city: string;
  /** ISO 3166 alpha-2. Overseas regions are FR: their mail is French mail (97400 Saint-Denis). */
  country: string;
}

export interface PostalAddressInput {
  street: string;
  complement?: string | null;
  locality?: string | null;
  postalCode?: string | null;
  city: string;
  /** Defaults to the org's country. */
  country?: string | null;
}

/** A channel's value, normalised: what makes two channels the same. */
export type ChannelValue =
  { kind: 'phone'; type: PhoneType; phone: ParsedPhone } | { kind: 'email'; type: EmailType; email: string } | { kind: 'postal'; address: PostalAddress };

export interface ChannelMeta {
  id: string;
  /** Free text such as the contact's function (comptable, DAF), checked by observation.ts. */
  observation?: string;
  qualification: Qualification;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

export type Channel = ChannelValue & ChannelMeta;
export type PhoneChannel = Extract<ChannelValue, { kind: 'phone' }> & ChannelMeta;
export type EmailChannel = Extract<ChannelValue, { kind: 'email' }> & ChannelMeta;

/** What staff type to add or change a channel. */
export type ChannelInput =
  { kind: 'phone'; type: PhoneType; number: string } | { kind: 'email'; type: EmailType; address: string } | { kind: 'postal'; address: PostalAddressInput };

/** A party (person or company) with its channels, as the domain reads and returns it. */
export interface PartyChannels {
  partyId: string;
  /** The party's name, for messages that must say whose channel it is on a file of several debtors. */
  name: string;
  channels: Channel[];
  /** The star: a phone or e-mail that is not invalid, or null when the party has none. */
  primaryChannelId: string | null;
}

/**
 * The parties of one file: the person of a social file, or every debtor (co-debtors,
 * guarantors) of a collections file. The at-least-one rule and the default rule hold across it.
 */
export type FileParties = readonly PartyChannels[];

/** Who does it and when: every change is stamped with both. */
export interface Stamp {
  by: string;
  at: Date;
}

export type ProblemCode =
  | 'invalid-value'
  | 'wrong-phone-type'
  | 'kind-change'
  | 'duplicate'
  | 'last-contact'
  | 'not-found'
  | 'cannot-be-primary'
  | 'transition-refused'
  | 'default-exists'
  | 'evidence-mismatch'
  | 'note-required'
  | 'sensitive-observation'
  | 'no-default'
  | 'wrong-channel'
  | 'invalid-channel';

export interface ChannelProblem {
  code: ProblemCode;
  message: string;
  /** The input field at fault, when one is. */
  path?: string;
  /** Several findings on the input, when there are (each term of an observation). */
  fields?: FieldProblem[];
}

export type Outcome<T> = ({ ok: true } & T) | { ok: false; problem: ChannelProblem };

/** The HTTP status of each problem: what the input says (422), what the file's state refuses (409), what is missing (404). */
export const PROBLEM_STATUS: Record<ProblemCode, 404 | 409 | 422> = {
  'invalid-value': 422,
  'wrong-phone-type': 422,
  'kind-change': 422,
  duplicate: 409,
  'last-contact': 409,
  'not-found': 404,
  'cannot-be-primary': 409,
  'transition-refused': 409,
  'default-exists': 409,
  'evidence-mismatch': 422,
  'note-required': 422,
  'sensitive-observation': 422,
  'no-default': 422,
  'wrong-channel': 422,
  'invalid-channel': 409,
};

/** The shared error a service throws for a problem (the gateway turns it into problem+json). */
export function problemError(problem: ChannelProblem): AppError {
  switch (PROBLEM_STATUS[problem.code]) {
    case 404:
      return new AppError(problem.message, 404, 'NOT_FOUND');
    case 409:
      return conflict(problem.message);
    case 422:
      return validationError(problem.message, problem.fields ?? (problem.path ? [{ path: problem.path, message: problem.message }] : []));
  }
}

const refuse = (code: ProblemCode, message: string, path?: string): { ok: false; problem: ChannelProblem } => ({
  ok: false,
  problem: { code, message, ...(path ? { path } : {}) },
});

// ---------------------------------------------------------------------------------------------
// Values

/** Mobile channels take numbers that are mobiles, or may be (numbering plans such as North America's cannot tell). */
const MOBILE_LINES = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/**
 * Reads a phone number for a channel of the given type, in the org's region: any valid number
 * of any country, but a channel typed mobile refuses a number that is not one (a landline, a
 * VoIP box number). Private and professional phones take any line: a work number may be a
 * company's toll-free line, a private one a mobile.
 */
export function readPhone(raw: string, type: PhoneType, orgRegion: string): Outcome<{ phone: ParsedPhone }> {
  const read = parsePhone(raw, orgRegion);
  if (!read.ok) return refuse('invalid-value', read.reason, 'number');
  const { phone } = read;
  if (type === 'mobile' && !MOBILE_LINES.has(phone.lineType)) {
    const what = phone.lineType === 'UNKNOWN' ? 'not known to be a mobile number' : `${lineTypeName(phone.lineType)}, not a mobile number`;
    return refuse('wrong-phone-type', `"${phone.raw}" is ${what}: add it as a private or professional phone`, 'type');
  }
  return { ok: true, phone };
}

// RFC 5322 dot-atom: what mail servers take before the @ without quoting.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const TOP_LEVEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * Reads an e-mail address: trimmed, its domain lower-cased (the part before the @ is kept as
 * typed: servers may tell its case apart), checked for what mail needs to reach it. `key` is
 * what makes two addresses the same mailbox: case ignored everywhere, the domain in its
 * ASCII (punycode) form.
 */
export function readEmail(rawInput: string): Outcome<{ email: string; key: string }> {
  const raw = rawInput.trim();
  const quoted = `"${raw}"`;
  const bad = (why: string) => refuse('invalid-value', why, 'address');
  if (raw === '') return bad('is empty');
  if (/\s/.test(raw)) return bad(`${quoted} is not an e-mail address: it contains a space`);
  const at = raw.lastIndexOf('@');
  if (at < 0) return bad(`${quoted} is not an e-mail address: it has no @`);
  if (raw.indexOf('@') !== at) return bad(`${quoted} is not an e-mail address: it has more than one @`);
  const local = raw.slice(0, at);
  const domain = raw
    .slice(at + 1)
    .normalize('NFC')
    .toLowerCase()
    .replace(/\.$/, '');
  if (local === '') return bad(`${quoted} is not an e-mail address: nothing comes before the @`);
  if (domain === '') return bad(`${quoted} is not an e-mail address: no domain comes after the @`);
  if (local.length > 64) return bad(`${quoted} is not an e-mail address: the part before the @ is longer than 64 characters`);
  if (!LOCAL_PART.test(local)) {
    return bad(
      `${quoted} is not an e-mail address: before the @, use letters without accents, digits and . _ - + (no dot at the start, at the end or twice in a row)`,
    );
  }
  const noExtension = bad(`${quoted} is not an e-mail address: the domain "${domain}" does not end with an extension such as .fr or .com`);
  // Checked before the ASCII form, which reads a numeric last label as an IP address.
  if (!domain.includes('.') || /^\d+$/.test(domain.split('.').at(-1)!)) return noExtension;
  const ascii = domainToASCII(domain);
  const labels = ascii.split('.');
  if (ascii === '' || !labels.every((l) => DOMAIN_LABEL.test(l))) {
    return bad(`${quoted} is not an e-mail address: "${domain}" is not a valid domain`);
  }
  if (!TOP_LEVEL.test(labels.at(-1)!)) return noExtension;
  if (local.length + 1 + ascii.length > 254) return bad(`${quoted} is too long for an e-mail address`);
  return { ok: true, email: `${local}@${domain}`, key: `${local.toLowerCase()}@${ascii}` };
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

/** Regions whose mail is French mail: postal codes of five digits, country FR. */
const FRENCH_POST = new Set(FRENCH_REGIONS);

const oneLine = (s: string | null | undefined) => (s ?? '').trim().replace(/\s+/g, ' ');

/**
 * Reads a postal address: every field trimmed, inner spaces made one; street and city
 * required; the country an ISO code (the org's country by default, the overseas regions
 * being FR); in France a postal code of five digits ("97 400" is read as 97400).
 */
export function readPostalAddress(input: PostalAddressInput, orgRegion: string): Outcome<{ address: PostalAddress }> {
  const street = oneLine(input.street);
  const city = oneLine(input.city);
  const complement = oneLine(input.complement);
  const locality = oneLine(input.locality);
  let postalCode = oneLine(input.postalCode);
  const typedCountry = oneLine(input.country).toUpperCase();
  const org = orgRegion.toUpperCase();
  const country = typedCountry === '' ? (FRENCH_POST.has(org) ? 'FR' : org) : FRENCH_POST.has(typedCountry) ? 'FR' : typedCountry;

  if (street === '') return refuse('invalid-value', 'the street (number and name) is required', 'address.street');
  if (city === '') return refuse('invalid-value', 'the city is required', 'address.city');
  if (!/^[A-Z]{2}$/.test(country) || regionNames.of(country) === undefined) {
    return refuse('invalid-value', `"${typedCountry}" is not a country code: use the ISO code, e.g. FR, BE or MG`, 'address.country');
  }
  if (country === 'FR') {
    postalCode = postalCode.replace(/\s/g, '');
    if (!/^(?!00)\d{5}$/.test(postalCode)) {
      const shown = postalCode === '' ? 'is required' : `"${oneLine(input.postalCode)}" is not one: it has five digits, e.g. 75011 or 97400`;
      return refuse('invalid-value', `the postal code ${shown}`, 'address.postalCode');
    }
  }
  const address: PostalAddress = {
    street,
    ...(complement ? { complement } : {}),
    ...(locality ? { locality } : {}),
    ...(postalCode ? { postalCode } : {}),
    city,
    country,
  };
  return { ok: true, address };
}

/** Reads what staff typed into a channel value, or says what is wrong with it. */
export function readChannel(input: ChannelInput, orgRegion: string): Outcome<{ value: ChannelValue }> {
  switch (input.kind) {
    case 'phone': {
      const read = readPhone(input.number, input.type, orgRegion);
      return read.ok ? { ok: true, value: { kind: 'phone', type: input.type, phone: read.phone } } : read;
    }
    case 'email': {
      const read = readEmail(input.address);
      return read.ok ? { ok: true, value: { kind: 'email', type: input.type, email: read.email } } : read;
    }
    case 'postal': {
      const read = readPostalAddress(input.address, orgRegion);
      return read.ok ? { ok: true, value: { kind: 'postal', address: read.address } } : read;
    }
  }
}

function emailKey(email: string): string {
  const read = readEmail(email);
  return `email:${read.ok ? read.key : email.toLowerCase()}`;
}

/** A channel's value alone, without its id, observation and qualification. */
export function valueOf(channel: Channel): ChannelValue {
  switch (channel.kind) {
    case 'phone':
      return { kind: 'phone', type: channel.type, phone: channel.phone };
    case 'email':
      return { kind: 'email', type: channel.type, email: channel.email };
    case 'postal':
      return { kind: 'postal', address: channel.address };
  }
}

/** What makes two values the same: the E.164 number, the mailbox, the address case and accents ignored. */
export function valueKey(value: ChannelValue): string {
  switch (value.kind) {
    case 'phone':
      return `phone:${value.phone.e164}`;
    case 'email':
      return emailKey(value.email);
    case 'postal': {
      const a = value.address;
      return `postal:${[a.street, a.complement, a.locality, a.postalCode, a.city, a.country].map((f) => searchText(f ?? '')).join('|')}`;
    }
  }
}

/** The value as people read it: "+33 6 12 34 56 78", "lea@example.fr", "12 rue des Lilas, 97400 Saint-Denis". */
export function displayValue(value: ChannelValue): string {
  switch (value.kind) {
    case 'phone':
      return formatPhone(value.phone.e164);
    case 'email':
      return value.email;
    case 'postal': {
      const a = value.address;
      const place = [a.postalCode, a.city].filter(Boolean).join(' ');
      return [a.street, a.complement, a.locality, place, a.country === 'FR' ? undefined : a.country].filter(Boolean).join(', ');
    }
  }
}

/** "mobile phone", "professional e-mail address", "postal address". */
export function channelLabel(value: ChannelValue): string {
  switch (value.kind) {
    case 'phone':
      return `${value.type} phone`;
    case 'email':
      return `${value.type} e-mail address`;
    case 'postal':
      return 'postal address';
  }
}

/** "the mobile phone +33 6 12 34 56 78", "the professional e-mail address dupont@acme.fr": a channel in a sentence. */
export const describeChannel = (value: ChannelValue): string => `the ${channelLabel(value)} ${displayValue(value)}`;

const STATE_WORDS: Record<QualificationState, string> = {
  pending: 'pending qualification',
  validated: 'validated',
  default: 'validated, the default',
  invalid: 'marked invalid',
};

/** The same value already on the party, whatever its type or state, refuses a new one. */
function duplicateOf(party: PartyChannels, value: ChannelValue, except?: string): Outcome<object> {
  const key = valueKey(value);
  const same = party.channels.find((c) => c.id !== except && valueKey(c) === key);
  if (!same) return { ok: true };
  return refuse(
    'duplicate',
    `${displayValue(value)} is already on this file, as its ${channelLabel(same)} (${STATE_WORDS[same.qualification.state]}); the same value cannot be added twice.`,
    value.kind === 'phone' ? 'number' : 'address',
  );
}

// ---------------------------------------------------------------------------------------------
// The primary channel and the at-least-one rule

/** A phone or e-mail not known to be wrong: what keeps a file reachable, and what can be primary. */
export function isReachable(channel: Channel): boolean {
  return channel.kind !== 'postal' && channel.qualification.state !== 'invalid';
}

/** The phones and e-mails of a file that are not invalid. */
export function reachableChannels(file: FileParties): Channel[] {
  return file.flatMap((p) => p.channels.filter(isReachable));
}

/** The primary as published in contact.primaryChanged. */
export interface PrimaryView {
  channelId: string;
  kind: 'phone' | 'email';
  type: PhoneType | EmailType;
  /** E.164 number or e-mail address. */
  value: string;
}

/** A change of a party's primary channel (or of its value), to publish as contact.primaryChanged. */
export interface PrimaryChange {
  partyId: string;
  previousChannelId: string | null;
  /** The new primary, or null when the party has no phone or e-mail left to be one. */
  primary: PrimaryView | null;
}

export function primaryOf(party: PartyChannels): PrimaryView | null {
  const channel = party.channels.find((c) => c.id === party.primaryChannelId);
  if (!channel || channel.kind === 'postal') return null;
  return channel.kind === 'phone'
    ? { channelId: channel.id, kind: 'phone', type: channel.type, value: channel.phone.e164 }
    : { channelId: channel.id, kind: 'email', type: channel.type, value: channel.email };
}

const RANK: Record<QualificationState, number> = { default: 0, validated: 1, pending: 2, invalid: 3 };

/**
 * The party after a change of its channels, with its primary settled: kept while it is a
 * reachable phone or e-mail; else (removed, invalidated, or none yet) the successor is a
 * reachable channel of the lost primary's kind first, the best qualified first (default,
 * validated, pending), the oldest first; none when nothing is reachable. So a party that can
 * be reached always has a primary. The change is reported when the primary, its type or its
 * value differ from `before`.
 */
export function settlePrimary(before: PartyChannels | null, after: PartyChannels): { party: PartyChannels; primaryChange: PrimaryChange | null } {
  const current = after.channels.find((c) => c.id === after.primaryChannelId);
  let primaryChannelId = after.primaryChannelId;
  if (!current || !isReachable(current)) {
    const lostKind = before?.channels.find((c) => c.id === before.primaryChannelId)?.kind;
    const candidates = after.channels
      .map((c, index) => ({ c, index }))
      .filter(({ c }) => isReachable(c))
      .sort(
        (a, b) =>
          Number(b.c.kind === lostKind) - Number(a.c.kind === lostKind) || RANK[a.c.qualification.state] - RANK[b.c.qualification.state] || a.index - b.index,
      );
    primaryChannelId = candidates[0]?.c.id ?? null;
  }
  const party = { ...after, primaryChannelId };
  const was = before ? primaryOf(before) : null;
  const now = primaryOf(party);
  const same = was?.channelId === now?.channelId && was?.type === now?.type && was?.value === now?.value;
  return {
    party,
    primaryChange: same ? null : { partyId: party.partyId, previousChannelId: was?.channelId ?? null, primary: now },
  };
}

/**
 * Refuses a change that would leave a file that could be reached with no phone number or
 * e-mail address that is not invalid (seed 000: "le dossier doit comporter au moins un ...").
 * `after` is the file as the change would leave it; `change` says what staff tried.
 */
export function lastContactProblem(before: FileParties, after: FileParties, channel: Channel, change: 'removal' | 'invalidation'): ChannelProblem | null {
  if (reachableChannels(before).length === 0 || reachableChannels(after).length > 0) return null;
  return {
    code: 'last-contact',
    message:
      `A file must keep at least one phone number or e-mail address, and ${describeChannel(channel)} is the last one: ` +
      `add another before ${change === 'removal' ? 'removing this one' : 'marking this one invalid'}.`,
  };
}

/** The party and channel a command is about, or the problem of a missing one. */
export function locate(file: FileParties, partyId: string, channelId: string): Outcome<{ party: PartyChannels; channel: Channel }> {
  const party = file.find((p) => p.partyId === partyId);
  const channel = party?.channels.find((c) => c.id === channelId);
  if (!party || !channel) return refuse('not-found', 'This contact channel was not found on this file; it may have been removed.');
  return { ok: true, party, channel };
}

/** The file with some parties replaced by their new version. */
export function replaceParties(file: FileParties, changed: readonly PartyChannels[]): PartyChannels[] {
  return file.map((p) => changed.find((c) => c.partyId === p.partyId) ?? p);
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface AddChannel {
  value: ChannelInput;
  /** Checked by checkObservation first: the person may read it. */
  observation?: CheckedObservation | null;
}

/**
 * Adds a channel, pending qualification: refused when its value is wrong or already on the
 * party. The first reachable phone or e-mail of a party becomes its primary.
 */
export function addChannel(
  party: PartyChannels,
  input: AddChannel,
  ctx: Stamp & { id: string; orgRegion: string },
): Outcome<{ party: PartyChannels; channel: Channel; primaryChange: PrimaryChange | null }> {
  const read = readChannel(input.value, ctx.orgRegion);
  if (!read.ok) return read;
  const duplicate = duplicateOf(party, read.value);
  if (!duplicate.ok) return duplicate;
  const channel: Channel = {
    ...read.value,
    id: ctx.id,
    ...(input.observation ? { observation: input.observation } : {}),
    qualification: { state: 'pending', history: [] },
    createdAt: ctx.at,
    createdBy: ctx.by,
    updatedAt: ctx.at,
    updatedBy: ctx.by,
  };
  const settled = settlePrimary(party, { ...party, channels: [...party.channels, channel] });
  return { ok: true, channel, ...settled };
}

export interface ChangeChannel {
  /** The new value, of the channel's kind; a new number or address sends the qualification back to pending. */
  value?: ChannelInput;
  /** A checked observation, or null to clear it; absent keeps it. */
  observation?: CheckedObservation | null;
}

/**
 * Changes a channel's value, type or observation. A different number, e-mail or address is
 * another channel in fact: it is checked like a new one, and its qualification (and its being
 * the default) is lost, recorded in its history. A change of type alone keeps the
 * qualification: the line is the same. `changed` is false when nothing differs.
 */
export function changeChannel(
  party: PartyChannels,
  channelId: string,
  changes: ChangeChannel,
  ctx: Stamp & { orgRegion: string },
): Outcome<{ changed: boolean; party: PartyChannels; channel: Channel; primaryChange: PrimaryChange | null }> {
  const found = locate([party], party.partyId, channelId);
  if (!found.ok) return found;
  const current = found.channel;
  let value = valueOf(current);
  if (changes.value) {
    if (changes.value.kind !== current.kind) {
      return refuse('kind-change', `${describeChannel(current)} cannot become another kind of channel: add a new one and remove this one`, 'kind');
    }
    const read = readChannel(changes.value, ctx.orgRegion);
    if (!read.ok) return read;
    value = read.value;
  }
  const newValue = valueKey(value) !== valueKey(current);
  if (newValue) {
    const duplicate = duplicateOf(party, value, current.id);
    if (!duplicate.ok) return duplicate;
  }
  const observation = changes.observation === undefined ? current.observation : (changes.observation ?? undefined);
  const sameType = value.kind === 'postal' || current.kind === 'postal' || current.type === value.type;
  if (!newValue && sameType && observation === current.observation) {
    return { ok: true, changed: false, party, channel: current, primaryChange: null };
  }

  const { qualification } = current;
  const channel = {
    ...value,
    id: current.id,
    ...(observation ? { observation } : {}),
    qualification: newValue
      ? {
          state: 'pending' as const,
          history: [
            ...qualification.history,
            { at: ctx.at, by: ctx.by, automatic: false, action: 'valueChanged' as const, from: qualification.state, to: 'pending' as const },
          ],
        }
      : qualification,
    createdAt: current.createdAt,
    createdBy: current.createdBy,
    updatedAt: ctx.at,
    updatedBy: ctx.by,
  };
  const settled = settlePrimary(party, { ...party, channels: party.channels.map((c) => (c.id === channelId ? channel : c)) });
  return { ok: true, changed: true, channel, ...settled };
}

/**
 * Removes a channel ("Supprimer le canal de communication"); refused for the last phone or
 * e-mail of a file. Removing the primary hands the star to the successor (settlePrimary).
 */
export function removeChannel(
  file: FileParties,
  partyId: string,
  channelId: string,
): Outcome<{ party: PartyChannels; removed: Channel; primaryChange: PrimaryChange | null }> {
  const found = locate(file, partyId, channelId);
  if (!found.ok) return found;
  const { party, channel } = found;
  const after = { ...party, channels: party.channels.filter((c) => c.id !== channelId) };
  const last = lastContactProblem(file, replaceParties(file, [after]), channel, 'removal');
  if (last) return { ok: false, problem: last };
  return { ok: true, removed: channel, ...settlePrimary(party, after) };
}

/**
 * Makes a phone or e-mail the party's primary channel ("Définir comme canal de communication
 * principal"). Postal addresses and invalid channels cannot be. Setting the primary again
 * changes nothing (primaryChange null).
 */
export function setPrimary(party: PartyChannels, channelId: string): Outcome<{ party: PartyChannels; primaryChange: PrimaryChange | null }> {
  const found = locate([party], party.partyId, channelId);
  if (!found.ok) return found;
  const { channel } = found;
  if (channel.kind === 'postal') {
    return refuse('cannot-be-primary', `Only a phone number or an e-mail address can be the primary channel, not ${describeChannel(channel)}.`);
  }
  if (channel.qualification.state === 'invalid') {
    return refuse(
      'cannot-be-primary',
      `${capitalize(describeChannel(channel))} is marked invalid, so it cannot be the primary channel; validate it again or cancel its invalidation first.`,
    );
  }
  return { ok: true, ...settlePrimary(party, { ...party, primaryChannelId: channelId }) };
}

export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A phone or e-mail channel of the party holding that value (E.164 number or e-mail address), if any: where automatic evidence goes. */
export function channelWithValue(party: PartyChannels, kind: 'phone' | 'email', value: string): Channel | null {
  const key = kind === 'phone' ? `phone:${value}` : emailKey(value);
  return party.channels.find((c) => c.kind === kind && valueKey(c) === key) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Lists

/** A channel as lists show it. */
export interface ChannelView {
  id: string;
  partyId: string;
  kind: ChannelKind;
  type?: PhoneType | EmailType;
  /** As people read it. */
  display: string;
  phone?: ParsedPhone;
  email?: string;
  address?: PostalAddress;
  observation?: string;
  state: QualificationState;
  /** Shown in red (seed 002): only listed when asked for. */
  invalid: boolean;
  /** The star of seed 000. */
  primary: boolean;
  /** Proposed for every manual action, used by every automatic one. */
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

const KIND_ORDER: Record<ChannelKind, number> = { phone: 0, email: 1, postal: 2 };

/**
 * The channels of a party as lists show them: phones, then e-mails, then postal addresses,
 * oldest first; invalid ones only with showInvalid, then marked.
 */
export function listChannels(party: PartyChannels, options: { showInvalid?: boolean } = {}): ChannelView[] {
  return party.channels
    .map((c, index) => ({ c, index }))
    .filter(({ c }) => options.showInvalid || c.qualification.state !== 'invalid')
    .sort((a, b) => KIND_ORDER[a.c.kind] - KIND_ORDER[b.c.kind] || a.index - b.index)
    .map(({ c }) => ({
      id: c.id,
      partyId: party.partyId,
      kind: c.kind,
      ...(c.kind !== 'postal' ? { type: c.type } : {}),
      display: displayValue(c),
      ...(c.kind === 'phone' ? { phone: c.phone } : c.kind === 'email' ? { email: c.email } : { address: c.address }),
      ...(c.observation !== undefined ? { observation: c.observation } : {}),
      state: c.qualification.state,
      invalid: c.qualification.state === 'invalid',
      primary: c.id === party.primaryChannelId,
      isDefault: c.qualification.state === 'default',
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    }));
}
