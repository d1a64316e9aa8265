import type { ActionSchema } from 'moleculer';
import { STAFF, createdId, defineAction, isDuplicateKey, type AuthContext, type Envelope, type RelaisContext } from '@relais/shared';
import { WRITERS, listContactActionsInput, recordContactActionInput } from '../api';
import type { ContactActionDoc } from '../data/contactActions';
import { channelWithValue, describeChannel, problemError, type Outcome } from '../domain/channels';
import { callQualification, chooseChannel } from '../domain/contactActions';
import { applyFact, factFromDelivery, qualify, type AutomaticFact } from '../domain/qualification';
import type { FileRead } from '../files';
import type { ContactsDeps } from './deps';

type ChannelChange = ContactActionDoc['channelChange'];

function accepted<T>(outcome: Outcome<T>): { ok: true } & T {
  if (!outcome.ok) throw problemError(outcome.problem);
  return outcome;
}

const toView = (doc: ContactActionDoc) => ({
  id: doc._id,
  fileId: doc.fileId,
  partyId: doc.partyId,
  type: doc.type,
  channelId: doc.channelId,
  channel: doc.channel,
  ...(doc.direction ? { direction: doc.direction } : {}),
  ...(doc.outcome ? { outcome: doc.outcome } : {}),
  ...(doc.text ? { text: doc.text } : {}),
  ...(doc.subject ? { subject: doc.subject } : {}),
  ...(doc.note ? { note: doc.note } : {}),
  status: doc.status,
  ...(doc.deliveryId ? { deliveryId: doc.deliveryId } : {}),
  ...(doc.error ? { error: doc.error } : {}),
  channelChange: doc.channelChange,
  at: doc.at.toISOString(),
  by: doc.by,
  updatedAt: doc.updatedAt.toISOString(),
});

/** Contact actions on a file: a call or a letter recorded, an SMS or an e-mail sent through notifications. */
export function contactActionActions(deps: ContactsDeps): Record<string, ActionSchema> {
  /**
   * A call's outcome applied to the number as a person's qualification, when it says something and
   * the file allows it (the last phone or e-mail of a file is not marked invalid by a call).
   */
  async function qualifyByCall(auth: AuthContext, partyId: string, channelId: string, command: ReturnType<typeof callQualification>): Promise<ChannelChange> {
    if (!command) return null;
    const change: ChannelChange = command.action === 'validate' ? 'validated' : 'invalidated';
    return deps.files.changeChannels<ChannelChange>(auth, partyId, (file: FileRead, stamp) => {
      const done = qualify(file.parties, partyId, channelId, command, stamp);
      if (!done.ok) return { unchanged: null };
      return { changed: done.parties, primaryChanges: done.primaryChanges, result: () => change };
    });
  }

  return {
    recordContactAction: defineAction({
      input: recordContactActionInput,
      roles: WRITERS,
      async handler(input, auth, ctx: RelaisContext) {
        const id = createdId(ctx, auth.orgId);
        const first = await deps.contactActions.byId(auth.orgId, id);
        if (first) return toView(first);
        const file = await deps.files.read(auth.orgId, input.partyId);
        const { party, channel } = accepted(chooseChannel(file.parties, input.type, input.channelId));
        const now = new Date();
        const doc: ContactActionDoc = {
          _id: id,
          orgId: auth.orgId,
          fileId: file.root._id,
          partyId: party.partyId,
          type: input.type,
          channelId: channel.id,
          channel: describeChannel(channel).replace(/^the /, ''),
          ...(input.type === 'call' ? { direction: input.direction ?? 'outbound', outcome: input.outcome! } : {}),
          ...(input.text ? { text: input.text } : {}),
          ...(input.subject ? { subject: input.subject } : {}),
          ...(input.note ? { note: input.note } : {}),
          status: input.type === 'sms' || input.type === 'email' ? 'queued' : 'recorded',
          channelChange: null,
          at: now,
          by: auth.userId,
          updatedAt: now,
        };
        const message =
          input.type === 'sms' && channel.kind === 'phone'
            ? { action: 'notifications.sendContactSms', params: { personId: party.partyId, to: channel.phone.e164, text: input.text!, ref: id } }
            : input.type === 'email' && channel.kind === 'email'
              ? {
                  action: 'notifications.sendContactEmail',
                  params: { personId: party.partyId, to: channel.email, subject: input.subject!, text: input.text!, ref: id },
                }
              : null;
        if (message) {
          // Sent first, idempotent on the action's id: a retry after a lost answer sends nothing twice.
          doc.deliveryId = (await ctx.call<{ deliveryId: string }, object>(message.action, message.params, { meta: ctx.meta })).deliveryId;
        }
        if (input.type === 'call' && input.qualify) {
          doc.channelChange = await qualifyByCall(auth, party.partyId, channel.id, callQualification(channel, doc.outcome!, doc.direction!, input.note));
        }
        try {
          await deps.contactActions.insert(doc);
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          return toView((await deps.contactActions.byId(auth.orgId, id))!);
        }
        return toView(doc);
      },
    }),

    listContactActions: defineAction({
      input: listContactActionsInput,
      roles: STAFF,
      async handler({ partyId, limit }, auth) {
        const { members } = await deps.files.read(auth.orgId, partyId);
        return {
          items: (
            await deps.contactActions.ofParties(
              auth.orgId,
              members.map((m) => m._id),
              limit,
            )
          ).map(toView),
        };
      },
    }),
  };
}

/**
 * Records an automatic fact on the party's channel of that kind and value, if it has one; what it
 * changed (validated, invalidated), or null when it changed nothing.
 */
async function applyToChannel(
  deps: ContactsDeps,
  orgId: string,
  partyId: string,
  kind: 'phone' | 'email',
  value: string,
  fact: AutomaticFact,
): Promise<ChannelChange> {
  if (!(await deps.parties.byId(orgId, partyId))) return null;
  const system: AuthContext = { orgId, userId: fact.source, role: 'admin' };
  const change: ChannelChange = fact.command.action === 'validate' ? 'validated' : 'invalidated';
  return deps.files.changeChannels<ChannelChange>(system, partyId, (file, stamp) => {
    const party = file.parties.find((p) => p.partyId === partyId)!;
    const channel = channelWithValue(party, kind, value);
    if (!channel) return { unchanged: null };
    const applied = applyFact(file.parties, partyId, channel.id, fact, stamp.at);
    if (!applied.ok || !applied.changed) return { unchanged: null };
    return { changed: applied.parties, primaryChanges: applied.primaryChanges, result: () => change };
  });
}

/**
 * An e-mail that came in on an intervention request (exchanges) from an address of the client's
 * file is evidence that the address works (seed 002: "un courriel reçu de cette adresse"): the
 * client's e-mail channel of that value is validated, as an automatic entry of its history.
 */
export async function applyExchangesRecorded(deps: ContactsDeps, events: readonly Envelope<'exchange.recorded'>[]): Promise<void> {
  for (const event of events) {
    const x = event.data;
    if (x.direction !== 'received' || x.origin !== 'email' || !x.email) continue;
    const occurredAt = new Date(x.occurredAt);
    const fact: AutomaticFact = {
      source: 'exchanges',
      occurredAt,
      command: { action: 'validate', evidence: { kind: 'emailReceived', ref: x.exchangeId, occurredAt } },
    };
    await applyToChannel(deps, event.orgId, x.clientId, 'email', x.email, fact);
  }
}

/**
 * Evidence that arrives on its own (seed 002, and why Relais keeps the delivery history): a delivered
 * SMS or e-mail validates the number or address it went to, an operator's permanent "not a mobile"
 * or an SMTP server's hard bounce marks it invalid, and
 * the contact action that sent it, if any, takes the delivery's status. Idempotent: a fact already
 * recorded, or older than a person's decision, changes nothing.
 */
export async function applyDeliveryOutcomes(deps: ContactsDeps, events: readonly Envelope<'delivery.outcome'>[]): Promise<void> {
  for (const event of events) {
    const outcome = event.data;
    const occurredAt = new Date(outcome.occurredAt);
    const fact =
      outcome.medium === 'sms'
        ? factFromDelivery(
            outcome.status === 'delivered'
              ? { medium: 'sms', status: 'delivered', ref: outcome.deliveryId, occurredAt }
              : {
                  medium: 'sms',
                  status: 'failed',
                  error: outcome.error?.kind === 'notAMobile' ? 'notAMobile' : 'other',
                  permanent: outcome.error?.permanent ?? false,
                  ref: outcome.deliveryId,
                  occurredAt,
                },
          )
        : factFromDelivery(
            outcome.status === 'delivered'
              ? { medium: 'email', status: 'delivered', ref: outcome.deliveryId, occurredAt }
              : {
                  medium: 'email',
                  status: 'failed',
                  bounce: outcome.error?.kind === 'hardBounce' ? 'hard' : outcome.error?.kind === 'softBounce' ? 'soft' : null,
                  ref: outcome.deliveryId,
                  occurredAt,
                },
          );
    const channelChange = fact
      ? await applyToChannel(deps, event.orgId, outcome.personId, outcome.medium === 'sms' ? 'phone' : 'email', outcome.to, fact)
      : null;
    if (outcome.ref) {
      const error = outcome.status === 'failed' ? `not delivered${outcome.error?.code ? ` (provider error ${outcome.error.code})` : ''}` : undefined;
      await deps.contactActions.settle(
        event.orgId,
        outcome.ref,
        { status: outcome.status, ...(error ? { error } : {}), ...(channelChange ? { channelChange } : {}) },
        new Date(),
      );
    }
  }
}
