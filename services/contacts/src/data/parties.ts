import mongoose, { type Connection, type Model } from 'mongoose';
import { TenantRepository, outboxSchemaFields } from '@relais/shared';
import { SEXES } from '../api';
import type { PartyBase, PeopleQuery, PersonDoc } from '../domain/people';

/**
 * The `parties` collection: every person or company an org keeps a file on. Fields common
 * to all kinds live in the base schema; each kind is a mongoose discriminator on `kind`, and
 * its model adds `kind` to every query, so a person id never reaches a company and back.
 */
const partySchema = new mongoose.Schema<PartyBase>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    customId: String,
    customIdKey: { type: String, required: true },
    searchKeys: { type: [String], required: true },
    sortKey: { type: String, required: true },
    revision: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
    // Channels are the channel domain's plain data (a union of phone, e-mail and postal values with
    // their qualification history), written whole by the version-checked replace below.
    channels: { type: [mongoose.Schema.Types.Mixed], default: undefined },
    primaryChannelId: { type: String, default: undefined },
    removedChannels: { type: [mongoose.Schema.Types.Mixed], default: undefined },
    ...outboxSchemaFields,
  },
  { versionKey: false, collection: 'parties', discriminatorKey: 'kind' },
);
// Serves "customId unique in the org" and the search by customId: { orgId, customIdKey }.
partySchema.index({ orgId: 1, customIdKey: 1 }, { unique: true });
// Serves the search by name: { orgId, searchKeys: /^prefix/ } for each word of the query.
partySchema.index({ orgId: 1, searchKeys: 1 });
// Serves listing an org's parties in name order, page after page: { orgId, sortKey > cursor } sorted by sortKey.
partySchema.index({ orgId: 1, sortKey: 1 });
// Serves the search by birth date: { orgId, birthDate }.
partySchema.index({ orgId: 1, birthDate: 1 });

const personSchema = new mongoose.Schema<PersonDoc>(
  {
    lastName: { type: String, required: true },
    firstName: { type: String, required: true },
    usageName: String,
    sex: { type: String, enum: SEXES, required: true },
    birthDate: String,
    birthPlace: String,
    spokenLanguage: String,
  },
  { _id: false },
);

/**
 * FerretDB 1.24 reports a unique-index violation by an update as an InternalError (code 1)
 * carrying PostgreSQL's SQLSTATE 23505, not as E11000 as it does for inserts.
 */
function isUniqueViolationOnUpdate(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  return e?.code === 1 && /SQLSTATE 23505/.test(e.message ?? '');
}

/** A write computed from a revision that someone else changed meanwhile, too many times in a row. */
export class ConcurrentChangeError extends Error {
  override name = 'ConcurrentChangeError';
}

export class People extends TenantRepository<PersonDoc> {
  private constructor(
    model: Model<PersonDoc>,
    private readonly parties: Model<PartyBase>,
  ) {
    super(model);
  }

  static open(db: Connection): People {
    const parties = (db.models.Party as Model<PartyBase>) ?? db.model<PartyBase>('Party', partySchema);
    const people =
      (parties.discriminators?.Person as Model<PersonDoc> | undefined) ??
      parties.discriminator<PersonDoc>('Person', personSchema, 'person');
    return new People(people, parties);
  }

  /** The parties model, where the outbox looks for the event ids a write stored. */
  get raw(): Model<PartyBase> {
    return this.parties;
  }

  /** Creates the collection's indexes (they are declared on the base schema, shared by every kind). */
  async init(): Promise<void> {
    await this.parties.createIndexes();
  }

  /** Inserts a new person; a customId already used in the org fails with a duplicate-key error. */
  async insert(doc: PersonDoc): Promise<void> {
    await this.model.create(doc);
  }

  byId(orgId: string, personId: string) {
    return this.findOne(orgId, { _id: personId });
  }

  /**
   * Writes `next` over the stored person only if it is still at `revision`, the one `next` was
   * computed from; false when someone changed it meanwhile. Atomic on MongoDB. FerretDB 1.24
   * does not make concurrent writes to one document atomic (both may match), so there two
   * simultaneous changes of the same file can still lose one.
   */
  async replace(orgId: string, next: PersonDoc, revision: number): Promise<boolean> {
    try {
      const res = await this.model.replaceOne(this.scoped(orgId, { _id: next._id, revision }), next).exec();
      return res.matchedCount === 1;
    } catch (err) {
      if (isUniqueViolationOnUpdate(err)) throw Object.assign(new Error('duplicate key on update'), { code: 11000, cause: err });
      throw err;
    }
  }

  /**
   * Applies `change` to the current person and writes the result unless someone changed the
   * person meanwhile, else reads it again and retries. Returns null when the person is not in
   * the org, the stored person when `change` returns null (nothing to change).
   */
  async update(
    orgId: string,
    personId: string,
    change: (current: PersonDoc) => PersonDoc | null,
    attempts = 3,
  ): Promise<PersonDoc | null> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const current = await this.byId(orgId, personId);
      if (!current) return null;
      const next = change(current);
      if (!next) return current;
      if (await this.replace(orgId, next, current.revision)) return next;
    }
    throw new ConcurrentChangeError(`person ${personId} kept changing during the update`);
  }

  search(orgId: string, query: PeopleQuery) {
    return this.find(orgId, query.filter).sort({ sortKey: 1 }).limit(query.read).exec();
  }
}
