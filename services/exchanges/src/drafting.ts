import { createdId, notFound, type AuthContext, type RelaisContext } from '@relais/shared';
import type { DraftDoc, Drafts } from './data/drafts';
import type { Recording, SendEmailInput } from './recording';
import type { Registry } from './registry';
import { toDraftView } from './views';

/**
 * Drafts of e-mails (seed 004: cancelling an e-mail whose text was started offers to keep a
 * draft): kept per user and request, resumed, changed, sent (then gone) or discarded. A draft is
 * its author's alone: another user's answers 404.
 */
export class Drafting {
  constructor(
    private readonly drafts: Drafts,
    private readonly registry: Registry,
    private readonly recording: Recording,
  ) {}

  async save(input: { requestId: string; receivedBy?: number; to?: string; subject?: string; detail?: string }, auth: AuthContext, ctx: RelaisContext) {
    await this.registry.require(auth.orgId, input.requestId);
    const now = new Date();
    const doc: DraftDoc = {
      _id: createdId(ctx, auth.orgId),
      orgId: auth.orgId,
      requestId: input.requestId,
      userId: auth.userId,
      receivedBy: input.receivedBy ?? null,
      to: input.to ?? null,
      subject: input.subject || null,
      detail: input.detail ?? '',
      createdAt: now,
      updatedAt: now,
    };
    return toDraftView(await this.drafts.insertNew(doc));
  }

  async get(auth: AuthContext, draftId: string): Promise<DraftDoc> {
    const d = await this.drafts.mine(auth.orgId, auth.userId, draftId);
    if (!d) throw notFound('Draft');
    return d;
  }

  async list(auth: AuthContext, requestId?: string) {
    if (requestId) await this.registry.require(auth.orgId, requestId);
    return { items: (await this.drafts.ofUser(auth.orgId, auth.userId, requestId)).map(toDraftView) };
  }

  async update(input: { draftId: string; receivedBy?: number | null; to?: string | null; subject?: string | null; detail?: string }, auth: AuthContext) {
    const d = await this.get(auth, input.draftId);
    const next: DraftDoc = {
      ...d,
      receivedBy: input.receivedBy === undefined ? d.receivedBy : input.receivedBy,
      to: input.to === undefined ? d.to : input.to,
      subject: input.subject === undefined ? d.subject : input.subject || null,
      detail: input.detail ?? d.detail,
      updatedAt: new Date(),
    };
    await this.drafts.save(next);
    return toDraftView(next);
  }

  async discard(auth: AuthContext, draftId: string) {
    const d = await this.get(auth, draftId);
    await this.drafts.remove(auth.orgId, auth.userId, d._id);
    return toDraftView(d);
  }

  /** Sends an e-mail written in a draft (the request's must match), then the draft is gone. */
  async send(input: SendEmailInput & { draftId: string }, auth: AuthContext, ctx: RelaisContext) {
    const d = await this.get(auth, input.draftId);
    if (d.requestId !== input.requestId) throw notFound('Draft');
    const sent = await this.recording.sendEmail(input, auth, ctx);
    await this.drafts.remove(auth.orgId, auth.userId, d._id);
    return sent;
  }
}
