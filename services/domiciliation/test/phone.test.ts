import { expect } from 'chai';
import { parseMobile } from '../src/domain/phone';

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
