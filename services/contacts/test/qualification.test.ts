import { expect } from 'chai';
import type { QualificationState } from '../src/contract/vocabulary';
import { addChannel, type ChannelInput, type FileParties, type PartyChannels } from '../src/domain/channels';
import {
  applyFact,
  describeEntry,
  factFromDelivery,
  qualificationHistory,
  qualify,
  transition,
  type AutomaticFact,
  type QualificationCommand,
} from '../src/domain/qualification';
import { must, problem } from './outcome';

const t0 = new Date('2026-03-02T09:00:00Z');
const t1 = new Date('2026-03-02T10:00:00Z');
const t2 = new Date('2026-03-02T11:00:00Z');
const caseworker = 'user-caseworker';

const mobile = (number: string): ChannelInput => ({ kind: 'phone', type: 'mobile', number });
const phone = (type: 'private' | 'professional', number: string): ChannelInput => ({ kind: 'phone', type, number });
const email = (address: string): ChannelInput => ({ kind: 'email', type: 'private', address });

function party(partyId: string, name: string, ...channels: [string, ChannelInput][]): PartyChannels {
  return channels.reduce((acc, [id, value]) => must(addChannel(acc, { value }, { id, orgRegion: 'RE', by: caseworker, at: t0 })).party, {
    partyId,
    name,
    channels: [],
    primaryChannelId: null,
  } as PartyChannels);
}

/** Applies commands in turn to a one-party file, each an hour apart. */
function after(p: PartyChannels, ...steps: [string, QualificationCommand][]): PartyChannels {
  return steps.reduce((acc, [id, command], i) => {
    return must(qualify([acc], acc.partyId, id, command, { by: caseworker, at: new Date(t0.getTime() + (i + 1) * 3_600_000) })).parties[0];
  }, p);
}

const stateOf = (p: PartyChannels, id: string) => p.channels.find((c) => c.id === id)!.qualification.state;
const channel = (p: PartyChannels, id: string) => p.channels.find((c) => c.id === id)!;

const call = { kind: 'outboundCall' as const, note: 'spoke to her' };
const validate: QualificationCommand = { action: 'validate', evidence: call };
const invalidate: QualificationCommand = { action: 'invalidate', invalidity: { reason: 'numberNotAttributed' } };
const cancel: QualificationCommand = { action: 'cancel' };
const setDefault: QualificationCommand = { action: 'setDefault' };

/** A mobile (and an e-mail, so the at-least-one rule stays out of the way) with the mobile in the given state. */
function mobileIn(state: QualificationState): PartyChannels {
  const base = party('lea', 'Léa Hoarau', ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
  const steps: Record<QualificationState, [string, QualificationCommand][]> = {
    pending: [],
    validated: [['m', validate]],
    default: [
      ['m', validate],
      ['m', setDefault],
    ],
    invalid: [['m', invalidate]],
  };
  return after(base, ...steps[state]);
}

describe('qualification transitions', () => {
  const mobileText = 'The mobile phone +262 692 01 02 03';
  /** [from, command, to or the refusal's message] */
  const table: [QualificationState, QualificationCommand, string][] = [
    ['pending', validate, 'validated'],
    ['pending', invalidate, 'invalid'],
    ['pending', cancel, `${mobileText} is pending qualification: there is no validation or invalidation to cancel; allowed now: validate it, mark it invalid.`],
    ['pending', setDefault, 'Only a validated channel can be the default: validate the mobile phone +262 692 01 02 03 first, with the evidence that it works.'],
    ['validated', validate, `${mobileText} is already validated; allowed now: make it the default, mark it invalid, cancel its qualification.`],
    ['validated', invalidate, 'invalid'],
    ['validated', cancel, 'pending'],
    ['validated', setDefault, 'default'],
    ['default', validate, `${mobileText} is already validated and the default; allowed now: mark it invalid, cancel its qualification.`],
    ['default', invalidate, 'invalid'],
    ['default', cancel, 'pending'],
    ['default', setDefault, `${mobileText} is already the default phone.`],
    ['invalid', validate, 'validated'],
    ['invalid', invalidate, `${mobileText} is already marked invalid (the number is not attributed); allowed now: validate it, cancel its qualification.`],
    ['invalid', cancel, 'pending'],
    ['invalid', setDefault, `${mobileText} is marked invalid (the number is not attributed), so it cannot be the default; validate it again first.`],
  ];
  for (const [from, command, outcome] of table) {
    const refused = !(outcome in { pending: 1, validated: 1, default: 1, invalid: 1 });
    it(`${from} + ${command.action} ${refused ? 'is refused, saying why' : `-> ${outcome}`}`, () => {
      const p = mobileIn(from);
      expect(stateOf(p, 'm')).to.equal(from);
      const r = qualify([p], 'lea', 'm', command, { by: 'user-2', at: t2 });
      if (refused) {
        expect(problem(r)).to.deep.equal({ code: 'transition-refused', message: outcome });
        return;
      }
      const done = must(r);
      const m = channel(done.parties[0], 'm');
      expect(m.qualification.state).to.equal(outcome);
      expect(m.updatedAt).to.equal(t2);
      expect(m.updatedBy).to.equal('user-2');
      expect(done.entries).to.have.length(1);
      expect(done.entries[0]).to.deep.include({ partyId: 'lea', channelId: 'm' });
      expect(done.entries[0].entry).to.deep.include({ at: t2, by: 'user-2', automatic: false, action: command.action, from, to: outcome });
      expect(m.qualification.history.at(-1)).to.equal(done.entries[0].entry);
    });
  }

  it('keeps the evidence while validated or default, the reason while invalid, and neither when pending', () => {
    const validated = channel(mobileIn('validated'), 'm').qualification;
    expect(validated.evidence).to.deep.equal(call);
    expect(validated.history[0]).to.deep.include({ evidence: call });
    expect(channel(mobileIn('default'), 'm').qualification.evidence).to.deep.equal(call);
    const invalid = channel(mobileIn('invalid'), 'm').qualification;
    expect(invalid).to.deep.include({ invalidity: { reason: 'numberNotAttributed' } });
    expect(invalid).to.not.have.property('evidence');
    const cancelled = channel(after(mobileIn('validated'), ['m', cancel]), 'm').qualification;
    expect(cancelled).to.not.have.property('evidence');
    expect(cancelled).to.not.have.property('invalidity');
    const revalidated = channel(after(mobileIn('invalid'), ['m', { action: 'validate', evidence: { kind: 'inboundCall' } }]), 'm').qualification;
    expect(revalidated).to.deep.include({ state: 'validated', evidence: { kind: 'inboundCall' } });
    expect(revalidated).to.not.have.property('invalidity');
  });

  it('refuses evidence or reasons that cannot be said of the channel', () => {
    const p = party(
      'lea',
      'Léa Hoarau',
      ['m', mobile('0692 01 02 03')],
      ['h', phone('private', '0262 12 34 56')],
      ['e', email('lea@example.fr')],
      ['p', { kind: 'postal', address: { street: '12 rue des Lilas', postalCode: '97400', city: 'Saint-Denis' } }],
    );
    const q = (id: string, command: QualificationCommand) => problem(qualify([p], 'lea', id, command, { by: caseworker, at: t1 }));
    expect(q('p', validate)).to.deep.equal({
      code: 'evidence-mismatch',
      message: '"an outbound call got through" cannot validate the postal address 12 rue des Lilas, 97400 Saint-Denis',
      path: 'evidence.kind',
    });
    expect(q('e', { action: 'invalidate', invalidity: { reason: 'returnedMail' } }).message).to.equal(
      '"mail came back undelivered" cannot be said of the private e-mail address lea@example.fr',
    );
    // A landline that cannot take SMS still takes calls.
    expect(q('h', { action: 'invalidate', invalidity: { reason: 'notAMobile' } }).code).to.equal('evidence-mismatch');
    expect(q('m', { action: 'invalidate', invalidity: { reason: 'other', note: '  ' } })).to.deep.equal({
      code: 'note-required',
      message: 'say why the channel is invalid in the note',
      path: 'invalidity.note',
    });
    // What staff can say of every kind.
    for (const id of ['m', 'h', 'e', 'p']) {
      must(qualify([p], 'lea', id, { action: 'validate', evidence: { kind: 'confirmedByParty' } }, { by: caseworker, at: t1 }));
      must(qualify([p], 'lea', id, { action: 'invalidate', invalidity: { reason: 'wrongPerson' } }, { by: caseworker, at: t1 }));
    }
    must(qualify([p], 'lea', 'p', { action: 'validate', evidence: { kind: 'acknowledgmentOfReceipt' } }, { by: caseworker, at: t1 }));
    must(qualify([p], 'lea', 'e', { action: 'invalidate', invalidity: { reason: 'other', note: 'mailbox closed' } }, { by: caseworker, at: t1 }));
  });

  it('works on one channel alone, and says when the channel is not on the file', () => {
    const p = mobileIn('pending');
    const r = must(transition(channel(p, 'm'), validate, { by: caseworker, at: t1 }));
    expect(r.qualification).to.deep.equal({ state: 'validated', evidence: call, history: [r.entry] });
    expect(problem(qualify([p], 'lea', 'nope', validate, { by: caseworker, at: t1 })).code).to.equal('not-found');
  });
});

describe('the default channel', () => {
  const twoPhones = () =>
    after(
      party('lea', 'Léa Hoarau', ['m', mobile('0692 01 02 03')], ['h', phone('private', '0262 12 34 56')], ['e', email('lea@example.fr')]),
      ['m', validate],
      ['h', { action: 'validate', evidence: { kind: 'inboundCall' } }],
      ['m', setDefault],
    );

  it('asks for confirmation before replacing the default of the same kind, naming it', () => {
    const p = twoPhones();
    expect(problem(qualify([p], 'lea', 'h', setDefault, { by: caseworker, at: t2 }))).to.deep.equal({
      code: 'default-exists',
      message: 'The default phone of this file is the mobile phone +262 692 01 02 03; confirm to use the private phone +262 262 12 34 56 instead.',
    });
    expect(problem(qualify([p], 'lea', 'h', { action: 'setDefault', confirm: false }, { by: caseworker, at: t2 })).code).to.equal('default-exists');
  });

  it('with confirmation, makes it the default and the former one validated again, each recorded', () => {
    const r = must(qualify([twoPhones()], 'lea', 'h', { action: 'setDefault', confirm: true }, { by: caseworker, at: t2 }));
    const p = r.parties[0];
    expect([stateOf(p, 'm'), stateOf(p, 'h')]).to.deep.equal(['validated', 'default']);
    expect(channel(p, 'm').qualification.evidence).to.deep.equal(call);
    expect(r.entries.map((e) => [e.channelId, e.entry.action, e.entry.from, e.entry.to, e.entry.otherChannelId])).to.deep.equal([
      ['m', 'defaultReplaced', 'default', 'validated', 'h'],
      ['h', 'setDefault', 'validated', 'default', 'm'],
    ]);
    expect(r.parties).to.have.length(1);
    expect(r.primaryChanges).to.deep.equal([]);
  });

  it('keeps one default per kind: a default e-mail does not replace the default phone', () => {
    const p = after(twoPhones(), ['e', { action: 'validate', evidence: { kind: 'emailReceived' } }], ['e', setDefault]);
    expect([stateOf(p, 'm'), stateOf(p, 'e')]).to.deep.equal(['default', 'default']);
  });

  it('on a file of several debtors, keeps one default per kind across the debtors, naming whose it is', () => {
    const debtor = after(party('debtor', 'Jean Payet', ['d', mobile('0692 01 02 03')]), ['d', validate], ['d', setDefault]);
    const guarantor = after(party('guarantor', 'Marie Payet', ['g', mobile('0693 12 34 56')]), ['g', validate]);
    const file: FileParties = [debtor, guarantor];
    expect(problem(qualify(file, 'guarantor', 'g', setDefault, { by: caseworker, at: t2 })).message).to.equal(
      'The default phone of this file is the mobile phone +262 692 01 02 03 of Jean Payet; confirm to use the mobile phone +262 693 12 34 56 instead.',
    );
    const r = must(qualify(file, 'guarantor', 'g', { action: 'setDefault', confirm: true }, { by: caseworker, at: t2 }));
    expect(r.parties.map((p) => [p.partyId, p.channels[0].qualification.state])).to.deep.equal([
      ['debtor', 'validated'],
      ['guarantor', 'default'],
    ]);
    expect(r.entries.map((e) => [e.partyId, e.entry.action])).to.deep.equal([
      ['debtor', 'defaultReplaced'],
      ['guarantor', 'setDefault'],
    ]);
    // Each debtor alone would have its own default: the rule is the file's.
    must(qualify([guarantor], 'guarantor', 'g', setDefault, { by: caseworker, at: t2 }));
  });

  it('loses the default when its channel is cancelled or invalidated, without naming another', () => {
    for (const command of [cancel, invalidate]) {
      const p = after(twoPhones(), ['m', command]);
      expect(p.channels.filter((c) => c.qualification.state === 'default')).to.deep.equal([]);
      must(qualify([p], 'lea', 'h', setDefault, { by: caseworker, at: t2 }));
    }
  });
});

describe('qualification and the rules of the file', () => {
  it('refuses to mark invalid the last phone or e-mail of a file, saying so', () => {
    const p = party('lea', 'Léa Hoarau', ['m', mobile('0692 01 02 03')]);
    expect(problem(qualify([p], 'lea', 'm', invalidate, { by: caseworker, at: t1 }))).to.deep.equal({
      code: 'last-contact',
      message:
        'A file must keep at least one phone number or e-mail address, and the mobile phone +262 692 01 02 03 is the last one: add another before marking this one invalid.',
    });
    const debtors: FileParties = [p, party('guarantor', 'Marie Payet', ['g', email('marie@example.fr')])];
    must(qualify(debtors, 'lea', 'm', invalidate, { by: caseworker, at: t1 }));
  });

  it('hands the star of an invalidated primary to the successor, and gives a party without one its star back when a cancellation makes a channel reachable', () => {
    const p = party('lea', 'Léa Hoarau', ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]);
    const r = must(qualify([p], 'lea', 'm', invalidate, { by: caseworker, at: t1 }));
    expect(r.parties[0].primaryChannelId).to.equal('e');
    expect(r.primaryChanges).to.deep.equal([
      { partyId: 'lea', previousChannelId: 'm', primary: { channelId: 'e', kind: 'email', type: 'private', value: 'lea@example.fr' } },
    ]);
    expect(must(qualify(r.parties, 'lea', 'm', cancel, { by: caseworker, at: t2 })).primaryChanges).to.deep.equal([]);

    // A party whose only phone is invalid (its file reachable through a co-debtor) gets its star back when it is no longer.
    const alone = must(
      qualify([party('x', 'X', ['m', mobile('0692 01 02 03')]), party('y', 'Y', ['e', email('y@example.fr')])], 'x', 'm', invalidate, {
        by: caseworker,
        at: t1,
      }),
    );
    expect(alone.primaryChanges).to.deep.equal([{ partyId: 'x', previousChannelId: 'm', primary: null }]);
    const back = must(qualify(alone.parties, 'x', 'm', cancel, { by: caseworker, at: t2 }));
    expect(back.primaryChanges).to.deep.equal([
      { partyId: 'x', previousChannelId: null, primary: { channelId: 'm', kind: 'phone', type: 'mobile', value: '+262692010203' } },
    ]);
  });
});

describe('evidence from deliveries', () => {
  const at = t1;

  it('reads what a delivery outcome says about its channel', () => {
    expect(factFromDelivery({ medium: 'sms', status: 'delivered', ref: 'd1', occurredAt: at })).to.deep.equal({
      source: 'notifications',
      occurredAt: at,
      command: { action: 'validate', evidence: { kind: 'smsDelivered', ref: 'd1', occurredAt: at } },
    });
    expect(factFromDelivery({ medium: 'email', status: 'delivered', ref: 'd2', occurredAt: at })?.command).to.deep.include({
      evidence: { kind: 'emailDelivered', ref: 'd2', occurredAt: at },
    });
    expect(factFromDelivery({ medium: 'sms', status: 'failed', error: 'notAMobile', permanent: true, ref: 'd3', occurredAt: at })?.command).to.deep.equal({
      action: 'invalidate',
      invalidity: { reason: 'notAMobile', ref: 'd3', occurredAt: at },
    });
    expect(factFromDelivery({ medium: 'email', status: 'failed', bounce: 'hard', ref: 'd4', occurredAt: at })?.command).to.deep.include({
      invalidity: { reason: 'hardBounce', ref: 'd4', occurredAt: at },
    });
    for (const silent of [
      { medium: 'sms', status: 'failed', error: 'notAMobile', permanent: false, ref: 'd5', occurredAt: at },
      { medium: 'sms', status: 'failed', error: 'other', permanent: true, ref: 'd6', occurredAt: at },
      { medium: 'email', status: 'failed', bounce: 'soft', ref: 'd7', occurredAt: at },
      { medium: 'email', status: 'failed', bounce: null, ref: 'd8', occurredAt: at },
    ] as const) {
      expect(factFromDelivery(silent), silent.ref).to.equal(null);
    }
  });

  const delivered = (medium: 'sms' | 'email', occurredAt = t1): AutomaticFact => factFromDelivery({ medium, status: 'delivered', ref: 'd', occurredAt })!;
  const bounced = (occurredAt = t1): AutomaticFact => factFromDelivery({ medium: 'email', status: 'failed', bounce: 'hard', ref: 'b', occurredAt })!;
  const notAMobile = (occurredAt = t1): AutomaticFact =>
    factFromDelivery({ medium: 'sms', status: 'failed', error: 'notAMobile', permanent: true, ref: 'n', occurredAt })!;
  const file = () => [party('lea', 'Léa Hoarau', ['m', mobile('0692 01 02 03')], ['h', phone('private', '0262 12 34 56')], ['e', email('lea@example.fr')])];

  it('validates a pending channel from a delivered SMS, recorded as automatic by the reporting service', () => {
    const r = must(applyFact(file(), 'lea', 'm', delivered('sms'), t2));
    expect(r).to.deep.include({ changed: true, lastContactLost: false });
    expect(r.entries[0].entry).to.deep.equal({
      at: t2,
      by: 'notifications',
      automatic: true,
      action: 'validate',
      from: 'pending',
      to: 'validated',
      evidence: { kind: 'smsDelivered', ref: 'd', occurredAt: t1 },
    });
    // Once is enough: the same report again changes nothing.
    expect(must(applyFact(r.parties, 'lea', 'm', delivered('sms'), t2))).to.deep.include({ changed: false, entries: [] });
  });

  it("never overrides a person's invalidation, nor a decision taken after the fact happened", () => {
    const invalid = must(qualify(file(), 'lea', 'm', invalidate, { by: caseworker, at: t1 })).parties;
    expect(must(applyFact(invalid, 'lea', 'm', delivered('sms', t2), t2)).changed).to.equal(false);
    const validated = must(qualify(file(), 'lea', 'e', { action: 'validate', evidence: { kind: 'emailReceived' } }, { by: caseworker, at: t0 })).parties;
    const cancelled = must(qualify(validated, 'lea', 'e', cancel, { by: caseworker, at: t2 })).parties;
    expect(must(applyFact(cancelled, 'lea', 'e', delivered('email', t1), t2)).changed).to.equal(false);
    expect(must(applyFact(cancelled, 'lea', 'e', bounced(t1), t2)).changed).to.equal(false);
  });

  it('invalidates a default e-mail on a hard bounce, which then is the default no more, and moves the star', () => {
    let f = file();
    f = must(qualify(f, 'lea', 'e', { action: 'validate', evidence: { kind: 'emailReceived' } }, { by: caseworker, at: t0 })).parties;
    f = must(qualify(f, 'lea', 'e', setDefault, { by: caseworker, at: t0 })).parties;
    f = [{ ...f[0], primaryChannelId: 'e' }];
    const r = must(applyFact(f, 'lea', 'e', bounced(), t2));
    const e = channel(r.parties[0], 'e');
    expect(e.qualification).to.deep.include({ state: 'invalid', invalidity: { reason: 'hardBounce', ref: 'b', occurredAt: t1 } });
    expect(r.primaryChanges[0].primary).to.deep.include({ channelId: 'm' });
    expect(must(applyFact(r.parties, 'lea', 'e', bounced(), t2)).changed).to.equal(false);
  });

  it("invalidates a mobile on a permanent 'not a mobile' answer, but not a private phone, which still takes calls", () => {
    expect(stateOf(must(applyFact(file(), 'lea', 'm', notAMobile(), t2)).parties[0], 'm')).to.equal('invalid');
    expect(must(applyFact(file(), 'lea', 'h', notAMobile(), t2)).changed).to.equal(false);
  });

  it("records the loss of a file's last phone or e-mail all the same, and says so", () => {
    const f = [party('lea', 'Léa Hoarau', ['e', email('lea@example.fr')])];
    const r = must(applyFact(f, 'lea', 'e', bounced(), t2));
    expect(r).to.deep.include({ changed: true, lastContactLost: true });
    expect(r.primaryChanges).to.deep.equal([{ partyId: 'lea', previousChannelId: 'e', primary: null }]);
  });

  it('refuses a fact about another kind of channel, and says when the channel is gone', () => {
    expect(problem(applyFact(file(), 'lea', 'e', delivered('sms'), t2))).to.deep.equal({
      code: 'evidence-mismatch',
      message: '"smsDelivered" reported by notifications cannot be said of the private e-mail address lea@example.fr',
    });
    expect(problem(applyFact(file(), 'lea', 'gone', delivered('sms'), t2)).code).to.equal('not-found');
  });
});

describe('qualification history', () => {
  it('reads newest first, each entry with who, when, its evidence or reason, and a sentence', () => {
    const p = after(
      party('lea', 'Léa Hoarau', ['m', mobile('0692 01 02 03')], ['e', email('lea@example.fr')]),
      ['m', validate],
      ['m', setDefault],
      ['m', { action: 'invalidate', invalidity: { reason: 'other', note: 'line cut by the operator' } }],
      ['m', cancel],
    );
    const lines = qualificationHistory(channel(p, 'm'));
    expect(lines.map((l) => [l.action, l.from, l.to, l.summary])).to.deep.equal([
      ['cancel', 'invalid', 'pending', 'invalidation cancelled: pending qualification again'],
      ['invalidate', 'default', 'invalid', 'marked invalid: line cut by the operator'],
      ['setDefault', 'validated', 'default', 'made the default'],
      ['validate', 'pending', 'validated', 'validated: an outbound call got through (spoke to her)'],
    ]);
    expect(lines[3]).to.deep.include({ at: '2026-03-02T10:00:00.000Z', by: caseworker, automatic: false, evidence: call });
    expect(lines[1]).to.deep.include({ invalidity: { reason: 'other', note: 'line cut by the operator' } });
  });

  it('shows the dates of evidence as ISO strings, and says what each action did', () => {
    const r = must(
      applyFact(
        [party('lea', 'L', ['m', mobile('0692 01 02 03')])],
        'lea',
        'm',
        factFromDelivery({ medium: 'sms', status: 'delivered', ref: 'd9', occurredAt: t1 })!,
        t2,
      ),
    );
    expect(qualificationHistory(channel(r.parties[0], 'm'))[0]).to.deep.include({
      by: 'notifications',
      automatic: true,
      evidence: { kind: 'smsDelivered', ref: 'd9', occurredAt: t1.toISOString() },
      summary: 'validated: an SMS was delivered',
    });
    const base = { at: t1, by: 'u', automatic: false };
    expect(describeEntry({ ...base, action: 'cancel', from: 'validated', to: 'pending' })).to.equal('validation cancelled: pending qualification again');
    expect(describeEntry({ ...base, action: 'setDefault', from: 'validated', to: 'default', otherChannelId: 'x' })).to.equal(
      'made the default, in place of the former default',
    );
    expect(describeEntry({ ...base, action: 'defaultReplaced', from: 'default', to: 'validated', otherChannelId: 'x' })).to.equal(
      'no longer the default: another channel was made the default',
    );
    expect(describeEntry({ ...base, action: 'valueChanged', from: 'validated', to: 'pending' })).to.equal('value changed: pending qualification again');
    expect(describeEntry({ ...base, action: 'invalidate', from: 'pending', to: 'invalid', invalidity: { reason: 'returnedMail', note: 'NPAI' } })).to.equal(
      'marked invalid: mail came back undelivered (NPAI)',
    );
  });
});
