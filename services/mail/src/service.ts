import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { ServiceSchema } from 'moleculer';
import {
  Batcher,
  Outbox,
  STAFF,
  chunks,
  conflict,
  defineAction,
  healthAction,
  notFound,
  openRuntime,
  orgOf,
  toProblem,
  validationError,
  type BaseConfig,
  type Logger,
  type Problem,
  type RelaisContext,
  type ServiceRuntime,
} from '@relais/shared';
import {
  dayInput,
  getMailInput,
  handOverInput,
  listPersonMailInput,
  registerBatchInput,
  registerMailInput,
  type BatchResult,
  type RegisterMailInput,
} from './api';
import { MailItems } from './data/mailItems';
import {
  handOverEvent,
  newMailItem,
  type NewMailItem,
  pendingCounts,
  selectForHandOver,
  toMailItem,
  totalsByKind,
  type HandOver,
  type MailItemDoc,
} from './domain/mail';

export const SERVICE = 'mail';

interface ActiveStatus {
  personId: string;
  active: boolean;
  status: string | null;
}

/** The mail service: registers postal mail received for domiciled people, hands it over, publishes mail events. */
export function mailService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let log: Logger;
  let items: MailItems;
  let outbox: Outbox;
  let inserts: Batcher<NewMailItem, { doc: MailItemDoc; created: boolean }>;
  let statusChecks: Batcher<{ ctx: RelaisContext; personId: string }, ActiveStatus>;

  /** Refuses mail for a person whose domiciliation is not active (404 when the person is unknown to the org). */
  async function requireActive(ctx: RelaisContext, status: ActiveStatus): Promise<void> {
    if (status.active) return;
    if (status.status === null) {
      // No domiciliation at all: say whether the person exists in this org.
      await ctx.call('contacts.getPerson', { personId: status.personId });
      throw conflict('This person has no domiciliation: request and activate one before registering mail.');
    }
    throw conflict(`This person's domiciliation is ${status.status}, not active: mail cannot be registered for them.`);
  }

  /**
   * Stores new items (duplicates of an Idempotency-Key give back the stored item) and publishes the events
   * of those created in the background: once the items and their intent are stored, the caller can be answered.
   */
  function store(batch: NewMailItem[]) {
    return outbox.writeSoon(
      batch.map((b) => b.event),
      batch.map((b) => b.doc._id),
      async () => {
        const results = await items.insertBatch(batch.map((b) => b.doc));
        return { result: results, applied: batch.filter((_, i) => results[i].created).map((b) => b.event) };
      },
    );
  }

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      register: defineAction({
        input: registerMailInput,
        roles: STAFF,
        async handler(input, auth, ctx) {
          const key = ctx.meta.idempotencyKey;
          if (key) {
            // A retried request returns what the first one registered, without checking again.
            const existing = await items.findOne(auth.orgId, { idempotencyKey: key });
            if (existing) return toMailItem(existing);
          }
          await requireActive(ctx, await statusChecks.add({ ctx, personId: input.personId }));
          const item = newMailItem(input, auth, { itemId: randomUUID(), eventId: randomUUID() }, new Date(), key);
          const { doc: stored } = await inserts.add(item);
          return toMailItem(stored);
        },
      }),

      registerBatch: defineAction({
        input: registerBatchInput,
        roles: STAFF,
        async handler({ items: inputs }, auth, ctx): Promise<BatchResult> {
          const results: BatchResult['results'] = new Array(inputs.length);
          // With an Idempotency-Key, item i of the round has the key `<key>:<i>`: a retried round gives back
          // what was registered and registers only the rest.
          const key = ctx.meta.idempotencyKey;
          const keyOf = (i: number) => (key ? `${key}:${i}` : undefined);
          const earlier = key ? await items.byIdempotencyKeys(auth.orgId, inputs.map((_, i) => keyOf(i)!)) : new Map<string, MailItemDoc>();
          const todo: { index: number; input: RegisterMailInput }[] = [];
          inputs.forEach((input, index) => {
            const done = earlier.get(keyOf(index) ?? '');
            if (done) results[index] = { index, outcome: 'registered', item: toMailItem(done) };
            else todo.push({ index, input });
          });

          // The same status checks as single registrations (one domiciliation call per org and batch of people);
          // why each person is refused, with at most one contacts lookup per person. Other errors fail the whole
          // round before anything is stored.
          const personIds = [...new Set(todo.map((t) => t.input.personId))];
          const statuses = await Promise.all(personIds.map((personId) => statusChecks.add({ ctx, personId })));
          const refusals = new Map<string, Problem>();
          for (const [i, personId] of personIds.entries()) {
            await requireActive(ctx, statuses[i]).catch((err) => {
              const problem = toProblem(err);
              if (problem.status !== 404 && problem.status !== 409) throw err;
              refusals.set(personId, problem);
            });
          }

          const now = new Date();
          const accepted: { index: number; item: NewMailItem }[] = [];
          for (const { index, input } of todo) {
            const refusal = refusals.get(input.personId);
            if (refusal) {
              results[index] = { index, outcome: 'refused', problem: { status: refusal.status, title: refusal.title, detail: refusal.detail } };
            } else {
              accepted.push({ index, item: newMailItem(input, auth, { itemId: randomUUID(), eventId: randomUUID() }, now, keyOf(index)) });
            }
          }
          const stored = await store(accepted.map((a) => a.item));
          stored.forEach((r, i) => (results[accepted[i].index] = { index: accepted[i].index, outcome: 'registered', item: toMailItem(r.doc) }));
          const registered = results.filter((r) => r.outcome === 'registered').length;
          return { registered, refused: results.length - registered, results };
        },
      }),

      handOver: defineAction({
        input: handOverInput,
        roles: STAFF,
        async handler(input, auth) {
          const pending = await items.pendingForPerson(auth.orgId, input.personId);
          const selection = selectForHandOver(pending, input.mailItemIds);
          if (!selection.ok) {
            throw validationError(
              `These items are not pending mail of this person: ${selection.unknown.join(', ')}`,
              [{ path: 'mailItemIds', message: `not pending for this person: ${selection.unknown.join(', ')}` }],
            );
          }
          if (selection.ids.length === 0) throw conflict('This person has no pending mail to hand over.');
          const handOver: HandOver = {
            at: new Date(),
            by: auth.userId,
            to: input.to,
            ...(input.proxyName ? { proxyName: input.proxyName } : {}),
          };
          const groups = chunks(selection.ids, config.DB_UPDATE_BATCH).map((ids) => ({
            ids,
            event: handOverEvent(auth, input.personId, ids, handOver, randomUUID()),
          }));
          await outbox.write(
            groups.map((g) => g.event),
            selection.ids,
            async () => ({ result: undefined, applied: await items.markHandedOver(auth.orgId, groups, handOver) }),
          );
          const updated = await items.byIds(auth.orgId, selection.ids);
          return { personId: input.personId, handedOver: updated.map(toMailItem) };
        },
      }),

      get: defineAction({
        input: getMailInput,
        roles: STAFF,
        async handler({ mailItemId }, auth) {
          const doc = await items.findOne(auth.orgId, { _id: mailItemId });
          if (!doc) throw notFound('Mail item');
          return toMailItem(doc);
        },
      }),

      listForPerson: defineAction({
        input: listPersonMailInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          const docs = await items.forPerson(auth.orgId, personId);
          return { personId, pending: pendingCounts(docs), items: docs.map(toMailItem) };
        },
      }),

      day: defineAction({
        input: dayInput,
        roles: STAFF,
        async handler({ date }, auth, ctx) {
          const { timeZone } = orgOf(ctx);
          const start = DateTime.fromISO(date, { zone: timeZone }).startOf('day');
          const docs = await items.registeredBetween(auth.orgId, start.toJSDate(), start.plus({ days: 1 }).toJSDate());
          const totals = totalsByKind(docs);
          return { date, timeZone, totals, items: docs.map(toMailItem) };
        },
      }),
    },

    async started() {
      log = this.logger as unknown as Logger;
      rt = await openRuntime(config, SERVICE, log);
      items = MailItems.open(rt.db);
      await items.init();
      outbox = new Outbox({
        events: rt.events,
        model: items.raw,
        dbTimeoutMs: config.DB_TIMEOUT_MS,
        logger: log,
      });
      await outbox.init();
      outbox.start();
      inserts = new Batcher(store, { maxItems: 100, maxWaitMs: 2 });
      // Concurrent registrations ask the domiciliation service about all their people in one call per org.
      statusChecks = new Batcher(
        async (checks) => {
          const byOrg = new Map<string, typeof checks>();
          for (const c of checks) {
            const orgId = c.ctx.meta.auth!.orgId;
            byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), c]);
          }
          const answers = new Map<string, ActiveStatus>();
          await Promise.all(
            [...byOrg.entries()].map(async ([orgId, group]) => {
              const personIds = [...new Set(group.map((c) => c.personId))];
              const res = (await group[0].ctx.call('domiciliation.activeStatuses', { personIds })) as {
                statuses: ActiveStatus[];
              };
              for (const s of res.statuses) answers.set(`${orgId}:${s.personId}`, s);
            }),
          );
          return checks.map(
            (c) =>
              answers.get(`${c.ctx.meta.auth!.orgId}:${c.personId}`) ?? new Error('domiciliation status missing'),
          );
        },
        { maxItems: 100, maxWaitMs: 2 },
      );
    },

    async stopped() {
      await outbox?.stop();
      await rt?.close();
      rt = null;
    },
  };
}
