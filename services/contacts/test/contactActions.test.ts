import { expect } from 'chai';
import { addChannel, type ChannelInput, type PartyChannels } from '../src/domain/channels';
import { callQualification, chooseChannel } from '../src/domain/contactActions';
import { qualify, type QualificationCommand } from '../src/domain/qualification';
import { must, problem } from './outcome';

const at = new Date('2026-05-04T08:00:00Z');
const by = 'user-caseworker';

function party(partyId: string, ...channels: [string, ChannelInput][]): PartyChannels {
  return channels.reduce((acc, [id, value]) => must(addChannel(acc, { value }, { id, orgRegion: 'FR', by, at })).party, {
    partyId,
    name: partyId,
    channels: [],
    primaryChannelId: null,
  } as PartyChannels);
}
const step = (p: PartyChannels, id: string, command: QualificationCommand) => must(qualify([p], p.partyId, id, command, { by, at })).parties[0];
const validated = (p: PartyChannels, id: string) => step(p, id, { action: 'validate', evidence: { kind: 'confirmedByParty' } });
const asDefault = (p: PartyChannels, id: string) => step(validated(p, id), id, { action: 'setDefault' });

describe('contact actions: the channel an action uses', () => {
  const company = asDefault(
    party(
      'company',
      ['office', { kind: 'phone', type: 'professional', number: '01 45 00 00 00' }],
      ['letterbox', { kind: 'postal', address: { street: '1 rue de la Paix', postalCode: '75002', city: 'Paris' } }],
    ),
    'letterbox',
  );
  const guarantor = asDefault(party('guarantor', ['mobile', { kind: 'phone', type: 'mobile', number: '06 12 34 56 78' }]), 'mobile');

  it("takes the file's default of the kind, across its debtors, when staff choose none", () => {
    expect(must(chooseChannel([company, guarantor], 'call', undefined)).channel.id).to.equal('mobile');
    expect(must(chooseChannel([company, guarantor], 'letter', undefined))).to.deep.include({ party: company });
    expect(must(chooseChannel([company, guarantor], 'sms', undefined)).party.partyId).to.equal('guarantor');
  });

  it('says when the file has no default of the kind, and names the field to give', () => {
    expect(problem(chooseChannel([company], 'call', undefined))).to.deep.include({
      code: 'no-default',
      path: 'channelId',
      message: 'This file has no default phone number for a call: choose a channel (channelId) or make one the default.',
    });
  });

  it('refuses a channel of the wrong kind, an SMS to a phone that is not a mobile, and an unknown channel', () => {
    expect(problem(chooseChannel([company, guarantor], 'letter', 'mobile')).message).to.equal(
      'A letter needs a postal address, not the mobile phone +33 6 12 34 56 78.',
    );
    expect(problem(chooseChannel([company, guarantor], 'sms', 'office')).message).to.match(
      /An SMS needs a mobile phone, and the professional phone .* is not one/,
    );
    expect(problem(chooseChannel([company, guarantor], 'call', 'nowhere')).code).to.equal('not-found');
  });

  it('sends nothing to an invalid channel, but lets staff call an invalid number they chose', () => {
    const reachable = must(
      addChannel(guarantor, { value: { kind: 'email', type: 'private', address: 'jean@example.fr' } }, { id: 'mail', orgRegion: 'FR', by, at }),
    ).party;
    const bad = step(reachable, 'mobile', { action: 'invalidate', invalidity: { reason: 'notAMobile' } });
    expect(problem(chooseChannel([company, bad], 'sms', 'mobile')).code).to.equal('invalid-channel');
    expect(must(chooseChannel([company, bad], 'call', 'mobile')).channel.id).to.equal('mobile');
  });

  it('sends an e-mail to an e-mail address only: the default across the file, or the one staff chose', () => {
    const withMail = asDefault(
      must(addChannel(guarantor, { value: { kind: 'email', type: 'professional', address: 'jean@example.fr' } }, { id: 'mail', orgRegion: 'FR', by, at }))
        .party,
      'mail',
    );
    expect(must(chooseChannel([company, withMail], 'email', undefined))).to.deep.include({ party: withMail });
    expect(must(chooseChannel([company, withMail], 'email', undefined)).channel.id).to.equal('mail');
    expect(problem(chooseChannel([company, withMail], 'email', 'office')).message).to.match(/^An e-mail needs an e-mail address, not the professional phone /);
    expect(problem(chooseChannel([company, guarantor], 'email', undefined)).message).to.equal(
      'This file has no default e-mail address for an e-mail: choose a channel (channelId) or make one the default.',
    );
  });
});

describe('contact actions: what a call says about the number', () => {
  const p = party('p', ['m', { kind: 'phone', type: 'mobile', number: '06 12 34 56 78' }], ['e', { kind: 'email', type: 'private', address: 'p@example.fr' }]);
  const channel = (q: PartyChannels) => q.channels.find((c) => c.id === 'm')!;

  it('validates a pending number with the call that got through, inbound or outbound', () => {
    expect(callQualification(channel(p), 'reached', 'outbound', 'spoke to him')).to.deep.equal({
      action: 'validate',
      evidence: { kind: 'outboundCall', note: 'spoke to him' },
    });
    expect(callQualification(channel(p), 'reached', 'inbound', undefined)).to.deep.equal({ action: 'validate', evidence: { kind: 'inboundCall' } });
  });

  it('marks it invalid for a wrong person or a number not attributed, and says nothing of an unanswered call', () => {
    expect(callQualification(channel(p), 'wrongPerson', 'outbound', undefined)).to.deep.equal({ action: 'invalidate', invalidity: { reason: 'wrongPerson' } });
    expect(callQualification(channel(p), 'notAttributed', 'outbound', undefined)).to.deep.equal({
      action: 'invalidate',
      invalidity: { reason: 'numberNotAttributed' },
    });
    for (const outcome of ['noAnswer', 'voicemail', 'busy'] as const) expect(callQualification(channel(p), outcome, 'outbound', undefined)).to.equal(null);
  });

  it('repeats nothing the number already says', () => {
    expect(callQualification(channel(validated(p, 'm')), 'reached', 'outbound', undefined)).to.equal(null);
    const invalid = step(p, 'm', { action: 'invalidate', invalidity: { reason: 'wrongPerson' } });
    expect(callQualification(channel(invalid), 'wrongPerson', 'outbound', undefined)).to.equal(null);
    expect(callQualification(channel(invalid), 'reached', 'outbound', undefined)).to.deep.include({ action: 'validate' });
  });
});
