import { expect } from 'chai';
import { toProblem } from '@relais/shared';
import {
  addChannel,
  changeChannel,
  channelWithValue,
  listChannels,
  problemError,
  readChannel,
  readEmail,
  readPostalAddress,
  removeChannel,
  setPrimary,
  type ChannelInput,
  type PartyChannels,
} from '../src/domain/channels';
import { checkObservation, sensitiveList } from '../src/domain/observation';
import { qualify } from '../src/domain/qualification';
import { must, problem } from './outcome';

const t0 = new Date('2026-03-02T09:00:00Z');
const later = new Date('2026-03-03T10:00:00Z');
const agent = 'user-agent';

const party = (partyId = 'lea', name = 'Léa Hoarau'): PartyChannels => ({ partyId, name, channels: [], primaryChannelId: null });
const mobile = (number: string): ChannelInput => ({ kind: 'phone', type: 'mobile', number });
const privatePhone = (number: string): ChannelInput => ({ kind: 'phone', type: 'private', number });
const email = (address: string, type: 'private' | 'professional' = 'private'): ChannelInput => ({ kind: 'email', type, address });
const postal: ChannelInput = { kind: 'postal', address: { street: '12 rue des Lilas', postalCode: '97400', city: 'Saint-Denis' } };

/** The party with the channels added in order, ids as given. */
function withChannels(p: PartyChannels, ...channels: [string, ChannelInput][]): PartyChannels {
  return channels.reduce((acc, [id, value]) => must(addChannel(acc, { value }, { id, orgRegion: 'RE', by: agent, at: t0 })).party, p);
}

describe('channel values', () => {
  /** [org region, as typed, E.164, region] of mobiles, including every overseas region. */
  const mobiles: [string, string, string, string][] = [
    ['FR', '06 12 34 56 78', '+33612345678', 'FR'],
    ['RE', '0692 01 02 03', '+262692010203', 'RE'],
    ['GP', '0690 12 34 56', '+590690123456', 'GP'],
    ['MQ', '0696 12 34 56', '+596696123456', 'MQ'],
    ['GF', '0694 12 34 56', '+594694123456', 'GF'],
    ['YT', '0639 01 02 03', '+262639010203', 'YT'],
    ['PM', '55 12 34', '+508551234', 'PM'],
    ['FR', '+32 470 12 34 56', '+32470123456', 'BE'],
  ];
  for (const [region, raw, e164, numberRegion] of mobiles) {
    it(`takes ${raw} as a mobile for an org in ${region}: ${e164}, region ${numberRegion}, as typed`, () => {
      const r = must(readChannel(mobile(raw), region));
      expect(r.value).to.deep.equal({ kind: 'phone', type: 'mobile', phone: { e164, region: numberRegion, raw, lineType: 'MOBILE' } });
    });
  }

  /** [org region, landline as typed, E.164] */
  const landlines: [string, string, string][] = [
    ['FR', '01 45 67 89 10', '+33145678910'],
    ['RE', '0262 12 34 56', '+262262123456'],
    ['GP', '0590 12 34 56', '+590590123456'],
    ['MQ', '0596 30 12 34', '+596596301234'],
    ['GF', '0594 12 34 56', '+594594123456'],
    ['YT', '0269 61 23 45', '+262269612345'],
    ['PM', '41 23 45', '+508412345'],
  ];
  for (const [region, raw, e164] of landlines) {
    it(`refuses the landline ${raw} typed mobile for an org in ${region}, and takes it as a private or professional phone`, () => {
      expect(problem(readChannel(mobile(raw), region))).to.deep.equal({
        code: 'wrong-phone-type',
        message: `"${raw}" is a landline number, not a mobile number: add it as a private or professional phone`,
        path: 'type',
      });
      for (const type of ['private', 'professional'] as const) {
        const r = must(readChannel({ kind: 'phone', type, number: raw }, region));
        expect(r.value).to.deep.include({ type });
        expect(r.value.kind === 'phone' && r.value.phone).to.include({ e164, lineType: 'FIXED_LINE' });
      }
    });
  }

  it('refuses an internet box number typed mobile, takes a toll-free number as professional, and a number that may be a mobile as one', () => {
    expect(problem(readChannel(mobile('09 12 34 56 78'), 'FR')).message).to.equal(
      '"09 12 34 56 78" is an internet (VoIP) number, not a mobile number: add it as a private or professional phone',
    );
    must(readChannel({ kind: 'phone', type: 'professional', number: '0800 12 34 56' }, 'FR'));
    // North American numbers do not tell mobiles from landlines.
    must(readChannel(mobile('+1 202 555 0143'), 'FR'));
  });

  it('refuses what is not a phone number in service, saying why, on the number field', () => {
    expect(problem(readChannel(mobile('06 12'), 'FR'))).to.deep.equal({
      code: 'invalid-value',
      message: '"06 12" is too short: short and service numbers are not accepted',
      path: 'number',
    });
    expect(problem(readChannel(privatePhone('hello'), 'FR')).message).to.match(/^"hello" is not a phone number/);
  });

  it('keeps an e-mail address as typed before the @, its domain in lower case, and knows the mailbox whatever the case', () => {
    expect(must(readEmail('  Lea.Hoarau@Example.FR ')).email).to.equal('Lea.Hoarau@example.fr');
    expect(must(readEmail('Lea.Hoarau@Example.FR')).key).to.equal('lea.hoarau@example.fr');
    expect(must(readEmail('jean+factures@Café.fr'))).to.deep.include({ email: 'jean+factures@café.fr', key: 'jean+factures@xn--caf-dma.fr' });
    expect(must(readEmail('contact@mairie.re.')).email).to.equal('contact@mairie.re');
  });

  /** [as typed, what the message says] */
  const badEmails: [string, RegExp][] = [
    ['', /^is empty$/],
    ['lea hoarau@example.fr', /contains a space/],
    ['lea.example.fr', /has no @/],
    ['lea@@example.fr', /more than one @/],
    ['@example.fr', /nothing comes before the @/],
    ['lea@', /no domain comes after the @/],
    ['léa@example.fr', /before the @, use letters without accents/],
    ['lea..hoarau@example.fr', /no dot at the start, at the end or twice in a row/],
    ['lea@gmail', /the domain "gmail" does not end with an extension such as \.fr or \.com/],
    ['lea@example.123', /does not end with an extension/],
    ['lea@-example.fr', /"-example.fr" is not a valid domain/],
    ['lea@exa_mple.fr', /is not a valid domain/],
    [`${'a'.repeat(65)}@example.fr`, /longer than 64 characters/],
  ];
  for (const [raw, message] of badEmails) {
    it(`refuses the e-mail address ${JSON.stringify(raw)}, saying why`, () => {
      const p = problem(readChannel(email(raw), 'FR'));
      expect(p).to.include({ code: 'invalid-value', path: 'address' });
      expect(p.message).to.match(message);
    });
  }

  it('reads a postal address: fields trimmed, the org country by default, overseas regions as France, a spaced postal code joined', () => {
    expect(
      must(readPostalAddress({ street: '  12  rue des Lilas ', complement: ' ', postalCode: '97 400', city: ' Saint-Denis ' }, 'RE')).address,
    ).to.deep.equal({ street: '12 rue des Lilas', postalCode: '97400', city: 'Saint-Denis', country: 'FR' });
    expect(
      must(readPostalAddress({ street: 'Lot 4', locality: 'Lieu-dit Bellemène', postalCode: '97460', city: 'Saint-Paul', country: 're' }, 'FR')).address,
    ).to.deep.include({ locality: 'Lieu-dit Bellemène', country: 'FR' });
    // Some countries have no postal codes.
    expect(must(readPostalAddress({ street: '8 Queen’s Road', city: 'Hong Kong', country: 'HK' }, 'FR')).address).to.deep.equal({
      street: '8 Queen’s Road',
      city: 'Hong Kong',
      country: 'HK',
    });
  });

  it('refuses a postal address without street or city, with a French postal code that is not five digits, or an unknown country', () => {
    const read = (address: Parameters<typeof readPostalAddress>[0]) => problem(readPostalAddress(address, 'FR'));
    expect(read({ street: ' ', postalCode: '75011', city: 'Paris' })).to.include({
      path: 'address.street',
      message: 'the street (number and name) is required',
    });
    expect(read({ street: '1 rue A', postalCode: '75011', city: '' })).to.include({ path: 'address.city', message: 'the city is required' });
    expect(read({ street: '1 rue A', city: 'Paris' })).to.include({ path: 'address.postalCode', message: 'the postal code is required' });
    expect(read({ street: '1 rue A', postalCode: '7501', city: 'Paris' }).message).to.equal(
      'the postal code "7501" is not one: it has five digits, e.g. 75011 or 97400',
    );
    expect(read({ street: '1 rue A', postalCode: '1000', city: 'Bruxelles', country: 'XX' })).to.include({
      path: 'address.country',
      message: '"XX" is not a country code: use the ISO code, e.g. FR, BE or MG',
    });
  });
});

describe('adding channels', () => {
  it('adds a channel pending qualification, stamped, and makes the first phone or e-mail the primary', () => {
    const r = must(addChannel(party(), { value: mobile('0692 01 02 03') }, { id: 'm', orgRegion: 'RE', by: agent, at: t0 }));
    expect(r.channel).to.deep.include({ id: 'm', qualification: { state: 'pending', history: [] }, createdAt: t0, createdBy: agent });
    expect(r.party.primaryChannelId).to.equal('m');
    expect(r.primaryChange).to.deep.equal({
      partyId: 'lea',
      previousChannelId: null,
      primary: { channelId: 'm', kind: 'phone', type: 'mobile', value: '+262692010203' },
    });
    const second = must(addChannel(r.party, { value: email('lea@example.fr') }, { id: 'e', orgRegion: 'RE', by: agent, at: t0 }));
    expect(second.party.primaryChannelId).to.equal('m');
    expect(second.primaryChange).to.equal(null);
  });

  it('never makes a postal address the primary', () => {
    const r = must(addChannel(party(), { value: postal }, { id: 'p', orgRegion: 'RE', by: agent, at: t0 }));
    expect(r.party.primaryChannelId).to.equal(null);
    expect(r.primaryChange).to.equal(null);
  });

  it('keeps a checked observation', () => {
    const checked = checkObservation('  Comptable,  joignable le matin ', sensitiveList());
    if (!checked.ok || !checked.observation) return expect.fail('refused');
    const r = must(
      addChannel(
        party(),
        { value: email('compta@acme.fr', 'professional'), observation: checked.observation },
        { id: 'e', orgRegion: 'FR', by: agent, at: t0 },
      ),
    );
    expect(r.channel.observation).to.equal('Comptable, joignable le matin');
  });

  it('refuses the same number twice on a party, however it is typed and whatever its type', () => {
    const p = withChannels(party(), ['m', mobile('0692 01 02 03')]);
    const again = problem(addChannel(p, { value: privatePhone('+262 692 01 02 03') }, { id: 'x', orgRegion: 'RE', by: agent, at: t0 }));
    expect(again).to.deep.equal({
      code: 'duplicate',
      message: '+262 692 01 02 03 is already on this file, as its mobile phone (pending qualification); the same value cannot be added twice.',
      path: 'number',
    });
  });

  it('refuses the same mailbox twice whatever the case, and the same postal address whatever the case and accents', () => {
    const p = withChannels(party(), ['e', email('Lea.Hoarau@example.fr')], ['p', postal]);
    const ctx = { id: 'x', orgRegion: 'RE', by: agent, at: t0 };
    expect(problem(addChannel(p, { value: email('lea.hoarau@EXAMPLE.fr', 'professional') }, ctx)).code).to.equal('duplicate');
    const same = { kind: 'postal' as const, address: { street: '12 RUE DES LILAS', postalCode: '97 400', city: 'saint-denis', country: 'RE' } };
    expect(problem(addChannel(p, { value: same }, ctx))).to.include({ code: 'duplicate', path: 'address' });
    // The same street in another town is another address.
    must(addChannel(p, { value: { kind: 'postal', address: { ...same.address, postalCode: '97460', city: 'Saint-Paul' } } }, ctx));
  });

  it('says a duplicate is the invalid channel already there', () => {
    const p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
    const invalid = must(qualify([p], 'lea', 'm', { action: 'invalidate', invalidity: { reason: 'numberNotAttributed' } }, { by: agent, at: later }))
      .parties[0];
    expect(problem(addChannel(invalid, { value: mobile('0692010203') }, { id: 'x', orgRegion: 'RE', by: agent, at: later })).message).to.match(
      /^\+262 692 01 02 03 is already on this file, as its mobile phone \(marked invalid\)/,
    );
  });

  it('refuses a landline typed mobile', () => {
    expect(problem(addChannel(party(), { value: mobile('0262 12 34 56') }, { id: 'x', orgRegion: 'RE', by: agent, at: t0 })).code).to.equal('wrong-phone-type');
  });
});

describe('changing a channel', () => {
  const ctx = { orgRegion: 'RE', by: 'user-2', at: later };

  it('sends a new number back to pending, recorded in its history, and reports the primary value change', () => {
    let p = withChannels(party(), ['m', mobile('0692 01 02 03')]);
    p = must(qualify([p], 'lea', 'm', { action: 'validate', evidence: { kind: 'outboundCall' } }, { by: agent, at: t0 })).parties[0]!;
    p = must(qualify([p], 'lea', 'm', { action: 'setDefault' }, { by: agent, at: t0 })).parties[0]!;
    const r = must(changeChannel(p, 'm', { value: mobile('0693 12 34 56') }, ctx));
    expect(r.changed).to.equal(true);
    expect(r.channel).to.deep.include({ updatedAt: later, updatedBy: 'user-2', createdAt: t0, createdBy: agent });
    expect(r.channel.kind === 'phone' && r.channel.phone.e164).to.equal('+262693123456');
    expect(r.channel.qualification.state).to.equal('pending');
    expect(r.channel.qualification.evidence).to.equal(undefined);
    expect(r.channel.qualification.history.at(-1)).to.deep.equal({
      at: later,
      by: 'user-2',
      automatic: false,
      action: 'valueChanged',
      from: 'default',
      to: 'pending',
    });
    expect(r.primaryChange).to.deep.equal({
      partyId: 'lea',
      previousChannelId: 'm',
      primary: { channelId: 'm', kind: 'phone', type: 'mobile', value: '+262693123456' },
    });
  });

  it('keeps the qualification when only the type changes, and checks the new type against the line', () => {
    let p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['h', privatePhone('0262 12 34 56')]);
    p = must(qualify([p], 'lea', 'm', { action: 'validate', evidence: { kind: 'inboundCall' } }, { by: agent, at: t0 })).parties[0]!;
    const r = must(changeChannel(p, 'm', { value: { kind: 'phone', type: 'professional', number: '0692 01 02 03' } }, ctx));
    expect(r.channel).to.deep.include({ type: 'professional' });
    expect(r.channel.qualification.state).to.equal('validated');
    expect(r.primaryChange?.primary).to.deep.include({ type: 'professional' });
    expect(problem(changeChannel(p, 'h', { value: mobile('0262 12 34 56') }, ctx)).code).to.equal('wrong-phone-type');
  });

  it('refuses a change of kind, or to a value already on the party, and changes nothing when nothing differs', () => {
    const p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
    expect(problem(changeChannel(p, 'm', { value: email('x@example.fr') }, ctx))).to.include({ code: 'kind-change', path: 'kind' });
    // The same mailbox typed otherwise, now professional: a change of type, not of value.
    const retyped = must(changeChannel(p, 'e', { value: email('LEA@example.fr', 'professional') }, ctx));
    expect(retyped.channel).to.deep.include({ type: 'professional', email: 'LEA@example.fr' });
    expect(retyped.channel.qualification.history).to.deep.equal([]);
    const p2 = withChannels(p, ['e2', email('lea.pro@example.fr')]);
    expect(problem(changeChannel(p2, 'e2', { value: email('lea@example.fr') }, ctx)).code).to.equal('duplicate');
    expect(must(changeChannel(p, 'm', { value: mobile('+262 692 01 02 03') }, ctx))).to.deep.include({ changed: false, party: p, primaryChange: null });
    expect(problem(changeChannel(p, 'nope', {}, ctx)).code).to.equal('not-found');
  });

  it('sets and clears the observation without touching the qualification', () => {
    const p = withChannels(party(), ['e', email('lea@example.fr')]);
    const checked = checkObservation('DAF', sensitiveList());
    if (!checked.ok || !checked.observation) return expect.fail('refused');
    const set = must(changeChannel(p, 'e', { observation: checked.observation }, ctx));
    expect(set.channel.observation).to.equal('DAF');
    expect(set.channel.qualification.history).to.deep.equal([]);
    const cleared = must(changeChannel(set.party, 'e', { observation: null }, ctx));
    expect(cleared.changed).to.equal(true);
    expect(cleared.channel).to.not.have.property('observation');
  });
});

describe('the at-least-one rule and removal', () => {
  it('refuses to remove the last phone number or e-mail address of a file, saying so', () => {
    const p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['p', postal]);
    expect(problem(removeChannel([p], 'lea', 'm'))).to.deep.equal({
      code: 'last-contact',
      message:
        'A file must keep at least one phone number or e-mail address, and the mobile phone +262 692 01 02 03 is the last one: add another before removing this one.',
    });
    // The postal address is not what keeps the file reachable.
    expect(must(removeChannel([p], 'lea', 'p')).party.channels.map((c) => c.id)).to.deep.equal(['m']);
  });

  it('counts invalid channels out: the last valid one stays, an invalid one can go', () => {
    let p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
    p = must(qualify([p], 'lea', 'e', { action: 'invalidate', invalidity: { reason: 'hardBounce' } }, { by: agent, at: later })).parties[0]!;
    expect(problem(removeChannel([p], 'lea', 'm')).code).to.equal('last-contact');
    expect(must(removeChannel([p], 'lea', 'e')).removed.id).to.equal('e');
  });

  it('lets a file that has no phone or e-mail lose its postal address', () => {
    const p = withChannels(party(), ['p', postal]);
    expect(must(removeChannel([p], 'lea', 'p')).party.channels).to.deep.equal([]);
  });

  it("on a file of several debtors, counts every debtor's channels", () => {
    const debtor = withChannels(party('debtor', 'Jean Payet'), ['m', mobile('0692 01 02 03')]);
    const guarantor = withChannels(party('guarantor', 'Marie Payet'), ['g', email('marie@example.fr')]);
    const r = must(removeChannel([debtor, guarantor], 'debtor', 'm'));
    expect(r.party).to.deep.equal({ ...debtor, channels: [], primaryChannelId: null });
    expect(r.primaryChange).to.deep.equal({ partyId: 'debtor', previousChannelId: 'm', primary: null });
    expect(problem(removeChannel([{ ...debtor, channels: [] }, guarantor], 'guarantor', 'g')).code).to.equal('last-contact');
  });

  it('hands the star of a removed primary to a channel of its kind first, the best qualified first', () => {
    let p = withChannels(
      party(),
      ['m', mobile('0692 01 02 03')],
      ['e', email('lea@example.fr')],
      ['h', privatePhone('0262 12 34 56')],
      ['w', { kind: 'phone', type: 'professional', number: '0262 98 76 54' }],
    );
    p = must(qualify([p], 'lea', 'w', { action: 'validate', evidence: { kind: 'outboundCall' } }, { by: agent, at: t0 })).parties[0]!;
    const r = must(removeChannel([p], 'lea', 'm'));
    expect(r.party.primaryChannelId).to.equal('w');
    expect(r.primaryChange).to.deep.equal({
      partyId: 'lea',
      previousChannelId: 'm',
      primary: { channelId: 'w', kind: 'phone', type: 'professional', value: '+262262987654' },
    });
    // Without another phone, the e-mail takes it.
    const onlyMail = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
    expect(must(removeChannel([onlyMail], 'lea', 'm')).primaryChange?.primary).to.deep.include({ channelId: 'e', kind: 'email' });
  });

  it('does not touch the primary when another channel is removed, and says when the channel is not there', () => {
    const p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
    expect(must(removeChannel([p], 'lea', 'e'))).to.deep.include({ primaryChange: null });
    expect(problem(removeChannel([p], 'lea', 'gone'))).to.deep.equal({
      code: 'not-found',
      message: 'This contact channel was not found on this file; it may have been removed.',
    });
    expect(problem(removeChannel([p], 'someone-else', 'm')).code).to.equal('not-found');
  });
});

describe('the primary channel', () => {
  it('moves the star to another phone or e-mail, once', () => {
    const p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('Lea@Example.fr', 'professional')]);
    const r = must(setPrimary(p, 'e'));
    expect(r.party.primaryChannelId).to.equal('e');
    expect(r.primaryChange).to.deep.equal({
      partyId: 'lea',
      previousChannelId: 'm',
      primary: { channelId: 'e', kind: 'email', type: 'professional', value: 'Lea@example.fr' },
    });
    expect(must(setPrimary(r.party, 'e')).primaryChange).to.equal(null);
  });

  it('refuses a postal address, an invalid channel and a channel that is not there', () => {
    let p = withChannels(party(), ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')], ['p', postal]);
    expect(problem(setPrimary(p, 'p'))).to.deep.equal({
      code: 'cannot-be-primary',
      message: 'Only a phone number or an e-mail address can be the primary channel, not the postal address 12 rue des Lilas, 97400 Saint-Denis.',
    });
    p = must(qualify([p], 'lea', 'e', { action: 'invalidate', invalidity: { reason: 'hardBounce' } }, { by: agent, at: later })).parties[0]!;
    expect(problem(setPrimary(p, 'e')).message).to.equal(
      'The private e-mail address lea@example.fr is marked invalid, so it cannot be the primary channel; validate it again or cancel its invalidation first.',
    );
    expect(problem(setPrimary(p, 'x')).code).to.equal('not-found');
  });
});

describe('channel lists', () => {
  let p = withChannels(party(), ['p', postal], ['e', email('lea@example.fr')], ['m', mobile('0692 01 02 03')], ['h', privatePhone('0262 12 34 56')]);
  p = must(qualify([p], 'lea', 'h', { action: 'invalidate', invalidity: { reason: 'numberNotAttributed' } }, { by: agent, at: later })).parties[0]!;

  it('shows phones, e-mails, then postal addresses, oldest first, without the invalid ones', () => {
    expect(listChannels(p).map((c) => [c.id, c.display, c.primary, c.invalid])).to.deep.equal([
      ['m', '+262 692 01 02 03', false, false],
      ['e', 'lea@example.fr', true, false],
      ['p', '12 rue des Lilas, 97400 Saint-Denis', false, false],
    ]);
  });

  it('shows the invalid ones, marked, when asked', () => {
    const shown = listChannels(p, { showInvalid: true });
    expect(shown.map((c) => [c.id, c.invalid, c.state])).to.deep.equal([
      ['m', false, 'pending'],
      ['h', true, 'invalid'],
      ['e', false, 'pending'],
      ['p', false, 'pending'],
    ]);
    expect(shown[1]).to.deep.include({
      partyId: 'lea',
      kind: 'phone',
      type: 'private',
      phone: { e164: '+262262123456', region: 'RE', raw: '0262 12 34 56', lineType: 'FIXED_LINE' },
      isDefault: false,
      createdAt: t0.toISOString(),
      updatedAt: later.toISOString(),
    });
    expect(shown[3]).to.deep.include({ address: { street: '12 rue des Lilas', postalCode: '97400', city: 'Saint-Denis', country: 'FR' } });
    expect(shown[3]).to.not.have.property('type');
  });

  it('finds the channel a delivery went to by its number or address', () => {
    expect(channelWithValue(p, 'phone', '+262692010203')?.id).to.equal('m');
    expect(channelWithValue(p, 'email', 'LEA@EXAMPLE.FR')?.id).to.equal('e');
    expect(channelWithValue(p, 'phone', '+33612345678')).to.equal(null);
  });
});

describe('problems as errors', () => {
  it('maps each problem to the shared error of its status, keeping the field', () => {
    expect(toProblem(problemError({ code: 'duplicate', message: 'already there' }))).to.deep.include({ status: 409, detail: 'already there' });
    expect(toProblem(problemError({ code: 'not-found', message: 'gone' }))).to.deep.include({ status: 404, detail: 'gone' });
    expect(toProblem(problemError({ code: 'wrong-phone-type', message: 'a landline', path: 'type' }))).to.deep.equal({
      type: 'about:blank',
      title: 'Invalid input',
      status: 422,
      detail: 'a landline',
      errors: [{ path: 'type', message: 'a landline' }],
    });
  });
});
