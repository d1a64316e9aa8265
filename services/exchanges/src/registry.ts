import { conflict, createdId, notFound, type AuthContext, type RelaisContext } from '@relais/shared';
import type { InterventionRequests } from './data/requests';
import type { Summaries } from './data/summaries';
import { callAs, clientContacts, collaborator, contactOf } from './directory';
import { moveRefusal, moved, type RequestDoc, type RequestStatus } from './domain/requests';
import { toRequestView } from './views';

/** Intervention requests: registered for a client of the org, moved through their statuses, listed with their summaries. */
export class Registry {
  constructor(
    private readonly requests: InterventionRequests,
    private readonly summaries: Summaries,
  ) {}

  /** The request, or 404 (another org's request is as unknown as a missing one). */
  async require(orgId: string, requestId: string): Promise<RequestDoc> {
    const r = await this.requests.get(orgId, requestId);
    if (!r) throw notFound('Intervention request');
    return r;
  }

  find(orgId: string, requestId: string): Promise<RequestDoc | null> {
    return this.requests.get(orgId, requestId);
  }

  async view(r: RequestDoc) {
    const [{ summary }] = await this.summaries.of(r.orgId, [r._id]);
    return toRequestView(r, summary);
  }

  async create(input: { clientId: string; title: string; interlocutor?: number; assignedTo?: string; team?: string }, auth: AuthContext, ctx: RelaisContext) {
    const id = createdId(ctx, auth.orgId);
    const earlier = await this.requests.get(auth.orgId, id);
    if (earlier) return this.view(earlier);
    const call = callAs(ctx);
    const contacts = await clientContacts(call, input.clientId, 'clientId');
    const interlocutor = input.interlocutor !== undefined ? contactOf(contacts, input.interlocutor, 'interlocutor').number : (contacts[0]?.number ?? null);
    const assignedTo = input.assignedTo ?? auth.userId;
    if (input.assignedTo !== undefined && input.assignedTo !== auth.userId) await collaborator(call, input.assignedTo, 'assignedTo');
    const now = new Date();
    const doc: Omit<RequestDoc, 'number'> = {
      _id: id,
      orgId: auth.orgId,
      clientId: input.clientId,
      interlocutor,
      title: input.title,
      assignedTo,
      team: input.team ?? null,
      status: 'open',
      openedAt: now,
      doneAt: null,
      closedAt: null,
      createdBy: auth.userId,
      createdAt: now,
      updatedAt: now,
    };
    const stored = await this.requests.create(doc).catch(async (err: unknown) => {
      // The same Idempotency-Key at once from two gateways: the other one stored it.
      const other = await this.requests.get(auth.orgId, id);
      if (other) return other;
      throw err;
    });
    return this.view(stored);
  }

  async update(
    input: { requestId: string; status?: RequestStatus; interlocutor?: number; assignedTo?: string | null; team?: string | null },
    auth: AuthContext,
    ctx: RelaisContext,
  ) {
    const r = await this.require(auth.orgId, input.requestId);
    const call = callAs(ctx);
    let next: RequestDoc = r;
    if (input.status !== undefined) {
      const refusal = moveRefusal(r, input.status);
      if (refusal) throw conflict(`This request cannot move: ${refusal}.`);
      next = moved(next, input.status, new Date());
    }
    if (input.interlocutor !== undefined) {
      next = { ...next, interlocutor: contactOf(await clientContacts(call, r.clientId, 'clientId'), input.interlocutor, 'interlocutor').number };
    }
    if (input.assignedTo !== undefined) {
      if (input.assignedTo !== null) await collaborator(call, input.assignedTo, 'assignedTo');
      next = { ...next, assignedTo: input.assignedTo };
    }
    if (input.team !== undefined) next = { ...next, team: input.team };
    if (next !== r) await this.requests.save({ ...next, updatedAt: new Date() });
    return this.view(await this.require(auth.orgId, r._id));
  }

  /** A client's requests; 404 when the client is not a party of the org. */
  async ofClient(orgId: string, clientId: string, ctx: RelaisContext) {
    await clientContacts(callAs(ctx), clientId, null);
    const docs = await this.requests.ofClient(orgId, clientId);
    const summaries = await this.summaries.of(
      orgId,
      docs.map((d) => d._id),
    );
    return { items: docs.map((d, i) => toRequestView(d, summaries[i].summary)) };
  }
}
