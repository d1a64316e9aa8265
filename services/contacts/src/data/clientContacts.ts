import mongoose, { type Connection, type Model } from 'mongoose';
import { TenantRepository, insertEach, modelOf } from '@relais/shared';
import type { ClientContactDoc, StoredContact } from '../domain/clientContacts';
import { ConcurrentChangeError } from './parties';

const Mixed = mongoose.Schema.Types.Mixed;

/**
 * The `client_contacts` collection: the contacts of each client (seed 003), one document per
 * contact holding its consent ledger and its revisions, so that every change of a contact is one
 * write of one document (FerretDB has no transactions). A contact deleted for good is replaced
 * by its tombstone (number, name, who, when), which keeps its number taken.
 */
// Untyped: a stored contact is one of two shapes (a contact or its tombstone), typed by the domain.
const schema = new mongoose.Schema(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    partyId: { type: String, required: true },
    number: { type: Number, required: true },
    name: { type: String, required: true },
    function: { type: String, required: true },
    revision: { type: Number, required: true },
    // Always present (null until deleted): reads tell a tombstone by an equality, which FerretDB pushes down.
    deletedAt: { type: Date, default: null },
    // The rest is absent from tombstones. Phones, address, consents, ledger and revisions are the
    // domain's plain data, written whole by the revision-checked replace below.
    displayOrder: Number,
    email: { type: String, default: undefined },
    phones: { type: [Mixed], default: undefined },
    address: { type: Mixed, default: undefined },
    addressCopiedFrom: { type: String, default: undefined },
    routingRoles: { type: [String], default: undefined },
    endDate: { type: String, default: undefined },
    self: { type: Boolean, default: undefined },
    consents: { type: Mixed, default: undefined },
    consentLedger: { type: [Mixed], default: undefined },
    revisions: { type: [Mixed], default: undefined },
    createdAt: Date,
    createdBy: String,
    updatedAt: Date,
    updatedBy: String,
    deletedBy: { type: String, default: undefined },
    deletionReason: { type: String, default: undefined },
  },
  { versionKey: false, collection: 'client_contacts', minimize: false },
);
// Unique: two creations that computed the same next number on a client cannot both get it (the loser reads again).
// Also serves the contacts of a client in number order, tombstones included: { orgId, partyId } sorted by number,
// and one contact by its number: { orgId, partyId, number }.
schema.index({ orgId: 1, partyId: 1, number: 1 }, { unique: true });

export class ClientContacts extends TenantRepository<StoredContact> {
  static open(db: Connection): ClientContacts {
    return new ClientContacts(modelOf<StoredContact>(db, 'ClientContact', schema));
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /**
   * Inserts a new contact: true, or false when its id or its number on the client is already
   * taken (a retried creation, or a concurrent one that got the number first: the caller tells).
   */
  async insert(doc: ClientContactDoc): Promise<boolean> {
    const [inserted] = await insertEach(this.model, [doc as unknown as Record<string, unknown>]);
    return inserted;
  }

  /** Every contact a client ever had, tombstones included, in number order. */
  ofParty(orgId: string, partyId: string): Promise<StoredContact[]> {
    return this.find(orgId, { partyId }).sort({ number: 1 }).exec();
  }

  /** The collection itself, for the re-screen's read across orgs (src/rescreen.ts), and only that. */
  get raw(): Model<StoredContact> {
    return this.model;
  }

  byId(orgId: string, id: string): Promise<StoredContact | null> {
    return this.findOne(orgId, { _id: id });
  }

  byNumber(orgId: string, partyId: string, number: number): Promise<StoredContact | null> {
    return this.findOne(orgId, { partyId, number });
  }

  /**
   * Applies `change` to the current contact and writes the result only if the contact is still at
   * the revision it was computed from, else reads it again and retries. Returns null when the
   * client has no contact of that number, the stored contact when `change` returns null (nothing to
   * write). As for parties and notes: atomic on MongoDB; on FerretDB two truly simultaneous
   * changes of one contact can lose one.
   */
  async update(
    orgId: string,
    partyId: string,
    number: number,
    change: (current: StoredContact) => StoredContact | null,
    attempts = 3,
  ): Promise<StoredContact | null> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const current = await this.byNumber(orgId, partyId, number);
      if (!current) return null;
      const next = change(current);
      if (!next) return current;
      const res = await this.model.replaceOne(this.scoped(orgId, { _id: current._id, revision: current.revision }), next).exec();
      if (res.matchedCount === 1) return next;
    }
    throw new ConcurrentChangeError(`client contact ${partyId}/${number} kept changing during the update`);
  }
}
