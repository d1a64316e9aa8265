import type { ServiceSchema } from 'moleculer';
import {
  STAFF,
  defineAction,
  definePortalAction,
  healthAction,
  notFound,
  openRuntime,
  validationError,
  type Logger,
  type ServiceRuntime,
  type StreamedFile,
} from '@relais/shared';
import {
  SENDERS,
  SETTERS,
  WRITERS,
  attachmentRefInput,
  clientRequestsInput,
  createRequestInput,
  defaultAddressInput,
  draftRefInput,
  emptyInput,
  portalPostInput,
  editExchangeInput,
  exchangeRefInput,
  recordReceivedInput,
  recordSentInput,
  requestDraftsInput,
  requestRefInput,
  saveDraftInput,
  sendEmailInput,
  summariesInput,
  updateDraftInput,
  updateRequestInput,
  updateSettingsInput,
} from './api';
import type { ExchangesConfig } from './config';
import { systemAuth } from './directory';
import { typesRefusal } from './domain/settings';
import { startEngine, type RunningEngine } from './engine';
import { toDraftView } from './views';

export const SERVICE = 'exchanges';

/**
 * The exchanges service (seed 004): intervention requests and the exchanges around them, e-mails
 * sent and replies received, drafts, summaries. The actions below call its use cases (engine.ts).
 */
export function exchangesService(config: ExchangesConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let engine: RunningEngine | null = null;
  /** The engine of a started instance (actions only run once it is). */
  const e = () => engine!;

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      createRequest: defineAction({ input: createRequestInput, roles: WRITERS, handler: (input, auth, ctx) => e().registry.create(input, auth, ctx) }),
      getRequest: defineAction({
        input: requestRefInput,
        roles: STAFF,
        handler: async ({ requestId }, auth) => e().registry.view(await e().registry.require(auth.orgId, requestId)),
      }),
      updateRequest: defineAction({ input: updateRequestInput, roles: WRITERS, handler: (input, auth, ctx) => e().registry.update(input, auth, ctx) }),
      clientRequests: defineAction({
        input: clientRequestsInput,
        roles: STAFF,
        handler: ({ partyId }, auth, ctx) => e().registry.ofClient(auth.orgId, partyId, ctx),
      }),

      parties: defineAction({
        input: requestRefInput,
        roles: STAFF,
        handler: ({ requestId }, auth, ctx) => e().recording.parties(auth.orgId, requestId, auth, ctx),
      }),
      history: defineAction({ input: requestRefInput, roles: STAFF, handler: ({ requestId }, auth) => e().recording.history(auth.orgId, requestId) }),
      recordSent: defineAction({ input: recordSentInput, roles: WRITERS, handler: (input, auth, ctx) => e().recording.recordSent(input, auth, ctx) }),
      recordReceived: defineAction({
        input: recordReceivedInput,
        roles: WRITERS,
        handler: (input, auth, ctx) => e().recording.recordReceived(input, auth, ctx),
      }),
      sendEmail: defineAction({
        input: sendEmailInput,
        roles: SENDERS,
        handler: ({ draftId, ...input }, auth, ctx) =>
          draftId ? e().drafting.send({ ...input, draftId }, auth, ctx) : e().recording.sendEmail(input, auth, ctx),
      }),
      editExchange: defineAction({ input: editExchangeInput, roles: WRITERS, handler: (input, auth) => e().recording.edit(input, auth) }),
      deleteExchange: defineAction({ input: exchangeRefInput, roles: STAFF, handler: (input, auth) => e().recording.remove(input, auth) }),
      // Answers a stream; ctx.meta.file tells the gateway its type, size and name (Route.streamsBytes).
      attachmentContent: defineAction({
        input: attachmentRefInput,
        roles: STAFF,
        async handler({ requestId, exchangeId, attachmentId }, auth, ctx) {
          const x = await e().recording.exchange(auth.orgId, requestId, exchangeId);
          const ref = x.attachments.find((a) => a.id === attachmentId);
          if (!ref) throw notFound('Attachment');
          const bytes = await e().files.open(auth.orgId, x._id, ref);
          // Files are written before the exchange that names them: missing bytes are a fault, not a 404.
          if (!bytes) throw new Error(`attachment ${attachmentId}: its file is missing or of another size`);
          const file: StreamedFile = { contentType: ref.contentType, size: ref.size, filename: ref.filename };
          (ctx.meta as { file?: StreamedFile }).file = file;
          return bytes;
        },
      }),
      summaries: defineAction({ input: summariesInput, roles: STAFF, handler: ({ requestIds }, auth) => e().recording.summaries(auth.orgId, requestIds) }),

      saveDraft: defineAction({ input: saveDraftInput, roles: WRITERS, handler: (input, auth, ctx) => e().drafting.save(input, auth, ctx) }),
      requestDrafts: defineAction({ input: requestDraftsInput, roles: STAFF, handler: ({ requestId }, auth) => e().drafting.list(auth, requestId) }),
      myDrafts: defineAction({ input: emptyInput, roles: STAFF, handler: (_input, auth) => e().drafting.list(auth) }),
      getDraft: defineAction({
        input: draftRefInput,
        roles: STAFF,
        handler: async ({ draftId }, auth) => toDraftView(await e().drafting.get(auth, draftId)),
      }),
      updateDraft: defineAction({ input: updateDraftInput, roles: WRITERS, handler: (input, auth) => e().drafting.update(input, auth) }),
      discardDraft: defineAction({ input: draftRefInput, roles: STAFF, handler: ({ draftId }, auth) => e().drafting.discard(auth, draftId) }),

      portalRequests: definePortalAction({ input: emptyInput, handler: (_input, portal) => e().portal.list(portal) }),
      portalRequest: definePortalAction({ input: requestRefInput, handler: ({ requestId }, portal) => e().portal.get(portal, requestId) }),
      // Answers a stream; ctx.meta.file tells the gateway its type, size and name (Route.streamsBytes).
      portalAttachment: definePortalAction({
        input: attachmentRefInput,
        async handler(input, portal, ctx) {
          const { bytes, file } = await e().portal.attachment(portal, input);
          (ctx.meta as { file?: StreamedFile }).file = { contentType: file.contentType, size: file.size, filename: file.filename };
          return bytes;
        },
      }),
      portalPost: definePortalAction({ input: portalPostInput, handler: (input, portal, ctx) => e().portal.post(portal, input, ctx) }),

      getSettings: defineAction({ input: emptyInput, roles: STAFF, handler: (_input, auth) => e().settings.of(auth.orgId) }),
      updateSettings: defineAction({
        input: updateSettingsInput,
        roles: SETTERS,
        async handler(input, auth) {
          const next = { ...(await e().settings.of(auth.orgId)), ...input };
          const refusal = typesRefusal(next.types);
          if (refusal) throw validationError(`Invalid input: types: ${refusal}`, [{ path: 'types', message: refusal }]);
          return e().settings.save(auth.orgId, next, auth.userId);
        },
      }),

      // The e-mail an exchange with the party is sent to unless staff choose another: its primary e-mail.
      defaultAddress: defineAction({
        input: defaultAddressInput,
        roles: STAFF,
        async handler({ partyId }, auth) {
          const doc = await e().addresses.of(auth.orgId, partyId);
          return { partyId, email: doc?.email ?? null, channelId: doc?.channelId ?? null, changedAt: doc?.changedAt.toISOString() ?? null };
        },
      }),
    },

    async started() {
      const log = this.logger as unknown as Logger;
      rt = await openRuntime(config, SERVICE, log);
      const broker = this.broker;
      engine = await startEngine(rt, config, log, (orgId) => (action, params) => broker.call(action, params, { meta: { auth: systemAuth(orgId) } }));
    },

    async stopped() {
      await engine?.stop();
      engine = null;
      await rt?.close();
      rt = null;
    },
  };
}
