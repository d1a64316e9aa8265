import mongoose, { type Connection } from 'mongoose';
import { TenantRepository, modelOf } from '@relais/shared';
import type { CallDirection, CallOutcome, ContactActionStatus, ContactActionType } from '../contract/vocabulary';

/** A contact action taken on a file: who, when, through which channel, and how it went. */
export interface ContactActionDoc {
  _id: string;
  orgId: string;
  fileId: string;
  partyId: string;
  type: ContactActionType;
  channelId: string;
  channel: string;
  direction?: CallDirection;
  outcome?: CallOutcome;
  text?: string;
  subject?: string;
  note?: string;
  status: ContactActionStatus;
  deliveryId?: string;
  error?: string;
  channelChange: 'validated' | 'invalidated' | null;
  at: Date;
  by: string;
  updatedAt: Date;
}

const schema = new mongoose.Schema<ContactActionDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    fileId: { type: String, required: true },
    partyId: { type: String, required: true },
    type: { type: String, required: true },
    channelId: { type: String, required: true },
    channel: { type: String, required: true },
    direction: String,
    outcome: String,
    text: String,
    subject: String,
    note: String,
    status: { type: String, required: true },
    deliveryId: String,
    error: String,
    channelChange: { type: String, default: null },
    at: { type: Date, required: true },
    by: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'contact_actions' },
);
// Serves a file's actions, newest first: { orgId, partyId in the file's parties } sorted by at.
schema.index({ orgId: 1, partyId: 1, at: -1 });

export class ContactActions extends TenantRepository<ContactActionDoc> {
  static open(db: Connection): ContactActions {
    return new ContactActions(modelOf<ContactActionDoc>(db, 'ContactAction', schema));
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Inserts a new action; an id already there (a retried request) fails with a duplicate-key error. */
  async insert(doc: ContactActionDoc): Promise<void> {
    await this.model.create(doc);
  }

  byId(orgId: string, id: string) {
    return this.findOne(orgId, { _id: id });
  }

  /** The actions on any of a file's parties: a debtor's own actions follow it onto the file it joins. */
  ofParties(orgId: string, partyIds: readonly string[], limit: number) {
    return this.find(orgId, { partyId: { $in: [...partyIds] } })
      .sort({ at: -1, _id: 1 })
      .limit(limit)
      .exec();
  }

  /** Sets fields of an action (its delivery, its status), unless it is already final. */
  async settle(orgId: string, id: string, set: Partial<Pick<ContactActionDoc, 'status' | 'deliveryId' | 'error' | 'channelChange'>>, at: Date): Promise<void> {
    await this.model.updateOne({ orgId, _id: id, status: { $in: ['queued', 'recorded'] } }, { $set: { ...set, updatedAt: at } }).exec();
  }
}
