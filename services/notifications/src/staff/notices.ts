import mongoose, { type Connection, type Model } from 'mongoose';
import { insertEach, modelOf } from '@relais/shared';

/** Why a collaborator was told: the request is theirs, or their team's. */
export const NOTICE_REASONS = ['assigned', 'team'] as const;
export type NoticeReason = (typeof NOTICE_REASONS)[number];

/**
 * An in-app notification of a collaborator (seed 004: "des notifications peuvent être affichées pour
 * signaler l'arrivée de ces échanges"): a client wrote on a request they handle.
 */
export interface NoticeDoc {
  /** A UUID derived from the event's id and the user's: an event delivered twice tells each user once. */
  _id: string;
  orgId: string;
  userId: string;
  reason: NoticeReason;
  requestId: string;
  requestNumber: string;
  title: string;
  exchangeId: string;
  origin: 'portal' | 'email';
  subject: string | null;
  preview: string;
  /** The delivery of the e-mail that told them too, when they have an address. */
  deliveryId: string | null;
  createdAt: Date;
  readAt: Date | null;
}

const schema = new mongoose.Schema<NoticeDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    userId: { type: String, required: true },
    reason: { type: String, enum: NOTICE_REASONS, required: true },
    requestId: { type: String, required: true },
    requestNumber: { type: String, required: true },
    title: { type: String, required: true },
    exchangeId: { type: String, required: true },
    origin: { type: String, required: true },
    subject: { type: String, default: null },
    preview: { type: String, required: true },
    deliveryId: { type: String, default: null },
    createdAt: { type: Date, required: true },
    readAt: { type: Date, default: null },
  },
  { versionKey: false, collection: 'staff_notices' },
);
// Serves a user's list, the latest first, and its unread filter: { orgId, userId, readAt } sorted by createdAt.
schema.index({ orgId: 1, userId: 1, readAt: 1, createdAt: -1 });

/** The in-app notifications of collaborators: one per (event, user), read or unread. */
export class StaffNotices {
  private constructor(private readonly model: Model<NoticeDoc>) {}

  static open(db: Connection): StaffNotices {
    return new StaffNotices(modelOf<NoticeDoc>(db, 'StaffNotice', schema));
  }

  init = () => this.model.createIndexes();

  /** Stores the notices not stored yet; answers those that are new (an event redelivered finds them there). */
  async insertNew(docs: readonly NoticeDoc[]): Promise<NoticeDoc[]> {
    const inserted = await insertEach(this.model, docs as unknown as Record<string, unknown>[]);
    return docs.filter((_, i) => inserted[i]);
  }

  ofUser(orgId: string, userId: string, unreadOnly: boolean, limit: number): Promise<NoticeDoc[]> {
    return this.model
      .find({ orgId, userId, ...(unreadOnly ? { readAt: null } : {}) })
      .sort({ createdAt: -1 })
      .limit(limit)
      .lean<NoticeDoc[]>()
      .exec();
  }

  unread(orgId: string, userId: string): Promise<number> {
    return this.model.countDocuments({ orgId, userId, readAt: null }).exec();
  }

  /** Marks one of the user's notices read or unread; null when it is not theirs. */
  async mark(orgId: string, userId: string, id: string, read: boolean, at: Date): Promise<NoticeDoc | null> {
    const doc = await this.model.findOne({ _id: id, orgId, userId }).lean<NoticeDoc>().exec();
    if (!doc) return null;
    const readAt = read ? (doc.readAt ?? at) : null;
    if ((doc.readAt === null) !== (readAt === null)) await this.model.updateOne({ _id: id, orgId, userId }, { $set: { readAt } }).exec();
    return { ...doc, readAt };
  }
}
