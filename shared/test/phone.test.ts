import { expect } from 'chai';
import { formatPhone, lineTypeName, parseMobile, parsePhone } from '../src';

/** [org region, as typed, E.164, region of the number] */
const accepted: [string, string, string, string][] = [
  ['FR', '06 12 34 56 78', '+33612345678', 'FR'],
  ['FR', '07.81.23.45.67', '+33781234567', 'FR'],
  ['FR', '06-12-34-56-78', '+33612345678', 'FR'],
  ['FR', '+33 6 12 34 56 78', '+33612345678', 'FR'],
  ['FR', '0033 6 12 34 56 78', '+33612345678', 'FR'],
  ['FR', '+33 (0)6 12 34 56 78', '+33612345678', 'FR'],
  ['RE', '+262 692 01 02 03', '+262692010203', 'RE'],
  ['RE', '0692 01 02 03', '+262692010203', 'RE'],
  ['RE', '0693.12.34.56', '+262693123456', 'RE'],
  ['RE', '+33 6 12 34 56 78', '+33612345678', 'FR'],
  ['RE', '00 33 6 12 34 56 78', '+33612345678', 'FR'],
  ['GP', '0690 12 34 56', '+590690123456', 'GP'],
  ['MQ', '0696 12 34 56', '+596696123456', 'MQ'],
  ['GF', '0694 12 34 56', '+594694123456', 'GF'],
  ['YT', '0639 01 02 03', '+262639010203', 'YT'],
  ['YT', '+33 7 56 12 34 56', '+33756123456', 'FR'],
  ['FR', '+262 692 01 02 03', '+262692010203', 'RE'],
  ['PM', '55 12 34', '+508551234', 'PM'],
  // National forms are read across the French 10-digit plan: the same line whoever dials it.
  ['FR', '0692 01 02 03', '+262692010203', 'RE'],
  ['FR', '0639-01-02-03', '+262639010203', 'YT'],
  ['RE', '06 12 34 56 78', '+33612345678', 'FR'],
  ['GP', '0696 12 34 56', '+596696123456', 'MQ'],
];

/** [org region, as typed, what the reason must say] */
const refused: [string, string, RegExp][] = [
  ['FR', '01 45 67 89 10', /^"01 45 67 89 10" is a landline number: SMS needs a mobile number$/],
  ['RE', '0262 12 34 56', /landline number/],
  ['GP', '0590 12 34 56', /landline number/],
  ['RE', '0145678910', /landline number/],
  ['YT', '+33 1 45 67 89 10', /landline number/],
  ['FR', '0899 12 34 56', /premium-rate number/],
  ['FR', '0800 12 34 56', /toll-free number/],
  ['FR', '0810 12 34 56', /shared-cost number/],
  ['FR', '09 12 34 56 78', /VoIP/],
  ['FR', '3631', /too short: short and service numbers cannot receive SMS/],
  ['FR', '06 12', /too short/],
  ['FR', '06123456789', /too long/],
  ['FR', '07 00 00 00 00', /not a number in service/],
  ['FR', '+44 7400 123456', /mobile number of region GB: SMS are sent only to mobiles of France/],
  ['FR', 'hello', /not a phone number/],
  ['FR', '0612a45678', /not a phone number/],
  ['FR', '06 12 34 56 78 ext 3', /not a phone number/],
  ['FR', '   ', /is empty/],
];

describe('mobile numbers (parseMobile)', () => {
  for (const [region, raw, e164, numberRegion] of accepted) {
    it(`accepts ${raw} for an org in ${region} as ${e164} (${numberRegion})`, () => {
      const r = parseMobile(raw, region);
      expect(r).to.deep.equal({ ok: true, phone: { e164, region: numberRegion, raw: raw.trim() } });
    });
  }

  for (const [region, raw, reason] of refused) {
    it(`refuses ${JSON.stringify(raw)} for an org in ${region}, saying why`, () => {
      const r = parseMobile(raw, region);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.match(reason);
    });
  }

  it('keeps the raw input trimmed, and reads the org region case-insensitively', () => {
    expect(parseMobile('  0692 01 02 03 ', 're')).to.deep.equal({
      ok: true,
      phone: { e164: '+262692010203', region: 'RE', raw: '0692 01 02 03' },
    });
  });
});

/** [org region, as typed, E.164, region of the number, line type] */
const phones: [string, string, string, string, string][] = [
  ['FR', '01 45 67 89 10', '+33145678910', 'FR', 'FIXED_LINE'],
  ['FR', '06 12 34 56 78', '+33612345678', 'FR', 'MOBILE'],
  ['FR', '0800 12 34 56', '+33800123456', 'FR', 'TOLL_FREE'],
  ['FR', '09 12 34 56 78', '+33912345678', 'FR', 'VOIP'],
  ['RE', '0262 12 34 56', '+262262123456', 'RE', 'FIXED_LINE'],
  ['RE', '0692 01 02 03', '+262692010203', 'RE', 'MOBILE'],
  ['GP', '0590 12 34 56', '+590590123456', 'GP', 'FIXED_LINE'],
  ['GP', '0690 12 34 56', '+590690123456', 'GP', 'MOBILE'],
  ['MQ', '0596 30 12 34', '+596596301234', 'MQ', 'FIXED_LINE'],
  ['MQ', '0696 12 34 56', '+596696123456', 'MQ', 'MOBILE'],
  ['GF', '0594 12 34 56', '+594594123456', 'GF', 'FIXED_LINE'],
  ['GF', '0694 12 34 56', '+594694123456', 'GF', 'MOBILE'],
  ['YT', '0269 61 23 45', '+262269612345', 'YT', 'FIXED_LINE'],
  ['YT', '0639 01 02 03', '+262639010203', 'YT', 'MOBILE'],
  ['PM', '41 23 45', '+508412345', 'PM', 'FIXED_LINE'],
  ['PM', '55 12 34', '+508551234', 'PM', 'MOBILE'],
  // Across the French plan, and abroad: any valid number, with what it is.
  ['FR', '0262 12 34 56', '+262262123456', 'RE', 'FIXED_LINE'],
  ['FR', '+32 470 12 34 56', '+32470123456', 'BE', 'MOBILE'],
  ['FR', '+44 20 7946 0958', '+442079460958', 'GB', 'FIXED_LINE'],
  ['FR', '+1 202 555 0143', '+12025550143', 'US', 'FIXED_LINE_OR_MOBILE'],
];

describe('phone numbers of any type (parsePhone)', () => {
  for (const [region, raw, e164, numberRegion, lineType] of phones) {
    it(`reads ${raw} for an org in ${region} as ${e164} (${numberRegion}, ${lineType})`, () => {
      expect(parsePhone(raw, region)).to.deep.equal({ ok: true, phone: { e164, region: numberRegion, raw, lineType } });
    });
  }

  it('says why a text is not a phone number in service, without SMS wording', () => {
    const failure = (raw: string) => {
      const r = parsePhone(raw, 'FR');
      return r.ok ? null : { failure: r.failure, reason: r.reason };
    };
    expect(failure(' ')).to.deep.equal({ failure: 'empty', reason: 'is empty' });
    expect(failure('06 12 34 56 78 ext 3')?.failure).to.equal('characters');
    expect(failure('3631')).to.deep.equal({ failure: 'too-short', reason: '"3631" is too short: short and service numbers are not accepted' });
    expect(failure('06123456789')).to.deep.equal({ failure: 'too-long', reason: '"06123456789" is too long for a phone number' });
    expect(failure('07 00 00 00 00')?.failure).to.equal('not-in-service');
    expect(failure('+999 12')).to.deep.equal({ failure: 'unreadable', reason: '"+999 12" is not a phone number' });
  });

  it('names line types for messages, and shows a stored number in international form', () => {
    expect(lineTypeName('FIXED_LINE')).to.equal('a landline number');
    expect(lineTypeName('MOBILE')).to.equal('a mobile number');
    expect(formatPhone('+262692010203')).to.equal('+262 692 01 02 03');
    expect(formatPhone('+33612345678')).to.equal('+33 6 12 34 56 78');
  });
});
