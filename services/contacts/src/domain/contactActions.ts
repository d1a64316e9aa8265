import type { CallDirection, CallOutcome, ChannelKind, ContactActionType } from '../contract/vocabulary';
import { describeChannel, locate, type Channel, type ChannelProblem, type FileParties, type Outcome, type PartyChannels } from './channels';
import type { QualificationCommand } from './qualification';

/**
 * Contact actions on a file (seed 002: "appeler, envoyer un courrier, envoyer un SMS, envoyer un
 * e-mail"): which
 * channel an action uses, and what its outcome says about that channel. Pure. The types, directions,
 * outcomes and statuses of an action are the contract's (contract/vocabulary.ts).
 */

const KIND_OF: Record<ContactActionType, ChannelKind> = { call: 'phone', letter: 'postal', sms: 'phone', email: 'email' };
const WORDS: Record<ContactActionType, string> = { call: 'a call', letter: 'a letter', sms: 'an SMS', email: 'an e-mail' };
const KIND_WORDS: Record<ChannelKind, string> = { phone: 'phone number', email: 'e-mail address', postal: 'postal address' };

const withArticle = (words: string) => `${/^[aeiou]/i.test(words) ? 'an' : 'a'} ${words}`;

export interface ChosenChannel {
  party: PartyChannels;
  channel: Channel;
}

/**
 * The channel an action goes through: the one staff chose on the file (any of its debtors), else the
 * file's default of the kind (seed 002: "proposé par défaut pour toute action manuelle"). An SMS goes
 * to a mobile; only a call, on staff's explicit choice, goes to a channel marked invalid.
 */
export function chooseChannel(file: FileParties, type: ContactActionType, channelId: string | undefined): Outcome<ChosenChannel> {
  const kind = KIND_OF[type];
  let chosen: ChosenChannel | undefined;
  if (channelId) {
    const party = file.find((p) => p.channels.some((c) => c.id === channelId));
    const found = locate(file, party?.partyId ?? '', channelId);
    if (!found.ok) return found;
    chosen = found;
  } else {
    for (const party of file) {
      const channel = party.channels.find((c) => c.kind === kind && c.qualification.state === 'default');
      if (channel) chosen = { party, channel };
    }
    if (!chosen) {
      return refused('no-default', `This file has no default ${KIND_WORDS[kind]} for ${WORDS[type]}: choose a channel (channelId) or make one the default.`);
    }
  }
  const { channel } = chosen;
  if (channel.kind !== kind)
    return refused(
      'wrong-channel',
      `${WORDS[type].replace(/^./, (c) => c.toUpperCase())} needs ${withArticle(KIND_WORDS[kind])}, not ${describeChannel(channel)}.`,
    );
  if (type === 'sms' && channel.kind === 'phone' && channel.type !== 'mobile') {
    return refused('wrong-channel', `An SMS needs a mobile phone, and ${describeChannel(channel)} is not one.`);
  }
  // A call may be tried on a number marked invalid when staff choose it: getting through is evidence it works again.
  if (channel.qualification.state === 'invalid' && !(type === 'call' && channelId)) {
    return refused(
      'invalid-channel',
      `${describeChannel(channel).replace(/^./, (c) => c.toUpperCase())} is marked invalid; validate it again or choose another channel.`,
    );
  }
  return { ok: true, ...chosen };
}

function refused(code: 'no-default' | 'wrong-channel' | 'invalid-channel', message: string): { ok: false; problem: ChannelProblem } {
  return { ok: false, problem: { code, message, ...(code === 'invalid-channel' ? {} : { path: 'channelId' }) } };
}

/**
 * What a call says about the number, as a person's qualification of it: a call that got through
 * validates a pending or invalid number; "wrong person" and "not attributed" mark it invalid.
 * Null when it says nothing, or the number already says as much.
 */
export function callQualification(
  channel: Channel,
  outcome: CallOutcome,
  direction: CallDirection,
  note: string | undefined,
): Extract<QualificationCommand, { action: 'validate' | 'invalidate' }> | null {
  const state = channel.qualification.state;
  const ref = note ? { note } : {};
  if (outcome === 'reached') {
    if (state !== 'pending' && state !== 'invalid') return null;
    return { action: 'validate', evidence: { kind: direction === 'inbound' ? 'inboundCall' : 'outboundCall', ...ref } };
  }
  if (outcome === 'wrongPerson' || outcome === 'notAttributed') {
    if (state === 'invalid') return null;
    return { action: 'invalidate', invalidity: { reason: outcome === 'wrongPerson' ? 'wrongPerson' : 'numberNotAttributed', ...ref } };
  }
  return null;
}
