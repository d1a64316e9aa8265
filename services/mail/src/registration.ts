import { randomUUID } from 'node:crypto';
import { Batcher, conflict, toProblem, type AuthContext, type Outbox, type Problem, type RelaisContext } from '@relais/shared';
import type { BatchResult, RegisterMailInput } from './api';
import type { MailItems } from './data/mailItems';
import { newMailItem, toMailItem, type MailItemDoc, type NewMailItem } from './domain/mail';

/** A person's domiciliation status, as the domiciliation service answers it. */
interface ActiveStatus {
  personId: string;
  active: boolean;
  status: string | null;
}

/**
 * A status check: `ctx` is the registering request's, whose calls to the domiciliation and contacts
 * services carry the caller's auth.
 */
interface StatusCheck {
  ctx: RelaisContext;
  personId: string;
}

/**
 * Mail registered for domiciled people, one item or a round of them. Concurrent registrations are
 * grouped: their status checks into one domiciliation call per org, their items into one insert.
 */
export class Registration {
  private readonly inserts: Batcher<NewMailItem, { doc: MailItemDoc; created: boolean }>;
  private readonly statusChecks: Batcher<StatusCheck, ActiveStatus>;

  constructor(
    private readonly items: MailItems,
    private readonly outbox: Outbox,
  ) {
    this.inserts = new Batcher((batch) => this.store(batch), { maxItems: 100, maxWaitMs: 2 });
    this.statusChecks = new Batcher(checkStatuses, { maxItems: 100, maxWaitMs: 2 });
  }

  /** One item, for a person whose domiciliation is active. */
  async register(input: RegisterMailInput, auth: AuthContext, ctx: RelaisContext) {
    const key = ctx.meta.idempotencyKey;
    if (key) {
      // A retried request returns what the first one registered, without checking again.
      const existing = await this.items.findOne(auth.orgId, { idempotencyKey: key });
      if (existing) return toMailItem(existing);
    }
    await requireActive(ctx, await this.statusChecks.add({ ctx, personId: input.personId }));
    const item = newMailItem(input, auth, { itemId: randomUUID(), eventId: randomUUID() }, new Date(), key);
    const { doc: stored } = await this.inserts.add(item);
    return toMailItem(stored);
  }

  /** A round of items: each is registered, or refused with the reason when its person cannot receive mail. */
  async registerBatch(inputs: RegisterMailInput[], auth: AuthContext, ctx: RelaisContext): Promise<BatchResult> {
    const results = new Array<BatchResult['results'][number]>(inputs.length);
    // With an Idempotency-Key, item i of the round has the key `<key>:<i>`: a retried round gives back
    // what was registered and registers only the rest.
    const key = ctx.meta.idempotencyKey;
    const keyOf = (i: number) => (key ? `${key}:${i}` : undefined);
    const earlier = key
      ? await this.items.byIdempotencyKeys(
          auth.orgId,
          inputs.map((_, i) => keyOf(i)!),
        )
      : new Map<string, MailItemDoc>();
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
    const statuses = await Promise.all(personIds.map((personId) => this.statusChecks.add({ ctx, personId })));
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
    const stored = await this.store(accepted.map((a) => a.item));
    stored.forEach((r, i) => (results[accepted[i].index] = { index: accepted[i].index, outcome: 'registered', item: toMailItem(r.doc) }));
    const registered = results.filter((r) => r.outcome === 'registered').length;
    return { registered, refused: results.length - registered, results };
  }

  /**
   * Stores new items (duplicates of an Idempotency-Key give back the stored item) and publishes the events
   * of those created in the background: once the items and their intent are stored, the caller can be answered.
   */
  private store(batch: NewMailItem[]) {
    return this.outbox.writeSoon(
      batch.map((b) => b.event),
      batch.map((b) => b.doc._id),
      async () => {
        const results = await this.items.insertBatch(batch.map((b) => b.doc));
        return { result: results, applied: batch.filter((_, i) => results[i].created).map((b) => b.event) };
      },
    );
  }
}

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

/** Concurrent registrations ask the domiciliation service about all their people in one call per org. */
async function checkStatuses(checks: StatusCheck[]): Promise<(ActiveStatus | Error)[]> {
  const byOrg = new Map<string, StatusCheck[]>();
  for (const c of checks) {
    const orgId = c.ctx.meta.auth!.orgId;
    byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), c]);
  }
  const answers = new Map<string, ActiveStatus>();
  await Promise.all(
    [...byOrg.entries()].map(async ([orgId, group]) => {
      const personIds = [...new Set(group.map((c) => c.personId))];
      const res = await group[0].ctx.call<{ statuses: ActiveStatus[] }, { personIds: string[] }>('domiciliation.activeStatuses', { personIds });
      for (const s of res.statuses) answers.set(`${orgId}:${s.personId}`, s);
    }),
  );
  return checks.map((c) => answers.get(`${c.ctx.meta.auth!.orgId}:${c.personId}`) ?? new Error('domiciliation status missing'));
}
