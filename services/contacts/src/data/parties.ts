import mongoose, { type Connection, type Model } from 'mongoose';
import { TenantRepository, modelOf, outboxSchemaFields } from '@relais/shared';
import { SEXES } from '../contract/people';
import type { PartyKind } from '../contract/vocabulary';
import type { CompanyDoc } from '../domain/companies';
import type { PartiesQuery, PartyBase } from '../domain/parties';
import type { PeopleQuery, PersonDoc } from '../domain/people';
import { SEARCH_VERSION, partySearchKeys } from '../domain/search';

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
    searchVersion: Number,
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
    erasedChannels: { type: [mongoose.Schema.Types.Mixed], default: undefined },
    assignedTo: { type: String, default: undefined },
    assignments: { type: [mongoose.Schema.Types.Mixed], default: undefined },
    debtors: { type: [mongoose.Schema.Types.Mixed], default: undefined },
    debtorOf: { type: String, default: undefined },
    ...outboxSchemaFields,
  },
  { versionKey: false, collection: 'parties', discriminatorKey: 'kind' },
);
// Serves "customId unique in the org" and the search by customId: { orgId, customIdKey }.
partySchema.index({ orgId: 1, customIdKey: 1 }, { unique: true });
// Serves the search by name: { orgId, searchKeys: prefix } for each word of the query (domain/search.ts nameFilter).
partySchema.index({ orgId: 1, searchKeys: 1 });
// Serves listing an org's parties in name order, page after page: { orgId, sortKey > cursor } sorted by sortKey.
partySchema.index({ orgId: 1, sortKey: 1 });
// Serves the search by birth date: { orgId, birthDate }.
partySchema.index({ orgId: 1, birthDate: 1 });
// Serves the files of an assignee in name order: { orgId, assignedTo } sorted by sortKey.
partySchema.index({ orgId: 1, assignedTo: 1, sortKey: 1 });

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

const companySchema = new mongoose.Schema<CompanyDoc>(
  {
    companyName: { type: String, required: true },
    legalForm: String,
    siren: String,
  },
  { _id: false },
);

/** A write computed from a revision that someone else changed meanwhile, too many times in a row. */
export class ConcurrentChangeError extends Error {
  override name = 'ConcurrentChangeError';
}

type AnyParty = PersonDoc | CompanyDoc;

/** The fields the search keys are computed from, and those the backfill's write checks. */
const NAME_FIELDS = { _id: 1, kind: 1, lastName: 1, firstName: 1, usageName: 1, companyName: 1, revision: 1, searchVersion: 1 } as const;
/** Passes of the backfill: a write computed before a pass may put back old keys, the next pass finds them. */
const BACKFILL_PASSES = 3;

/** The parties of every kind: one collection, one model per kind, writes of any kind by the base model. */
export class Parties extends TenantRepository<PartyBase> {
  private constructor(
    private readonly parties: Model<PartyBase>,
    private readonly kinds: { person: Model<PersonDoc>; company: Model<CompanyDoc> },
  ) {
    super(parties);
  }

  static open(db: Connection): Parties {
    const parties = modelOf<PartyBase>(db, 'Party', partySchema);
    const person = (parties.discriminators?.Person as Model<PersonDoc> | undefined) ?? parties.discriminator<PersonDoc>('Person', personSchema, 'person');
    const company =
      (parties.discriminators?.Company as Model<CompanyDoc> | undefined) ?? parties.discriminator<CompanyDoc>('Company', companySchema, 'company');
    return new Parties(parties, { person, company });
  }

  /** The parties model, where the outbox looks for the event ids a write stored. */
  get raw(): Model<PartyBase> {
    return this.parties;
  }

  /** Creates the collection's indexes (they are declared on the base schema, shared by every kind). */
  async init(): Promise<void> {
    await this.parties.createIndexes();
  }

  /** Inserts a new party; a customId already used in the org fails with a duplicate-key error. */
  async insert(doc: AnyParty): Promise<void> {
    await (this.kinds[doc.kind] as Model<AnyParty>).create(doc);
  }

  /** A party of any kind. */
  byId(orgId: string, partyId: string): Promise<AnyParty | null> {
    return this.parties
      .findOne(this.scoped(orgId, { _id: partyId }))
      .lean<AnyParty>()
      .exec();
  }

  /** A party of one kind: a person id never reaches a company and back. */
  ofKind<K extends PartyKind>(orgId: string, kind: K, partyId: string): Promise<Extract<AnyParty, { kind: K }> | null> {
    return (this.kinds[kind] as unknown as Model<PartyBase>).findOne({ orgId, _id: partyId }).lean<Extract<AnyParty, { kind: K }>>().exec();
  }

  byIds(orgId: string, partyIds: readonly string[]): Promise<AnyParty[]> {
    if (partyIds.length === 0) return Promise.resolve([]);
    return this.parties
      .find(this.scoped(orgId, { _id: { $in: [...partyIds] } }))
      .lean<AnyParty[]>()
      .exec();
  }

  /**
   * Writes `next` over the stored party only if it is still at `revision`, the one `next` was
   * computed from; false when someone changed it meanwhile. Atomic on MongoDB. FerretDB 1.24
   * does not make concurrent writes to one document atomic (both may match), so there two
   * simultaneous changes of the same file can still lose one.
   */
  async replace(orgId: string, next: PartyBase, revision: number): Promise<boolean> {
    // A unique violation (a custom id taken meanwhile) is thrown as it comes: isDuplicateKey reads
    // MongoDB's E11000 and FerretDB's SQLSTATE 23505 alike.
    const res = await this.parties.replaceOne(this.scoped(orgId, { _id: next._id, revision }), next).exec();
    return res.matchedCount === 1;
  }

  /**
   * Applies `change` to the current party of `kind` and writes the result unless someone changed
   * it meanwhile, else reads it again and retries. Returns null when the party is not in the org,
   * the stored party when `change` returns null (nothing to change).
   */
  async update<K extends PartyKind>(
    orgId: string,
    kind: K,
    partyId: string,
    change: (current: Extract<AnyParty, { kind: K }>) => Extract<AnyParty, { kind: K }> | null,
    attempts = 3,
  ): Promise<Extract<AnyParty, { kind: K }> | null> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const current = await this.ofKind(orgId, kind, partyId);
      if (!current) return null;
      const next = change(current);
      if (!next) return current;
      if (await this.replace(orgId, next, current.revision)) return next;
    }
    throw new ConcurrentChangeError(`party ${partyId} kept changing during the update`);
  }

  /**
   * Rewrites the searchKeys of the parties stored in an older form (searchVersion absent or
   * lower than SEARCH_VERSION), of every org, `batch` writes per command; returns how many it
   * rewrote. Each write applies only to the revision and version it was read at: a party changed
   * meanwhile was written by current code, or is found again by the next pass. Idempotent. A
   * system write across orgs, the only one. With nothing to do it costs one read of the collection
   * (FerretDB evaluates the filter itself), a cursor of the few fields the keys come from.
   * Stops after the write in flight once `signal` is aborted (the service stopping).
   */
  async backfillSearchKeys(batch: number, signal?: AbortSignal): Promise<number> {
    const stale = { $or: [{ searchVersion: { $exists: false } }, { searchVersion: { $lt: SEARCH_VERSION } }] };
    let rewritten = 0;
    for (let pass = 0; pass < BACKFILL_PASSES; pass++) {
      let found = 0;
      let pending: AnyParty[] = [];
      const flush = async () => {
        if (pending.length === 0) return;
        const res = await this.parties.bulkWrite(
          pending.map((d) => ({
            updateOne: {
              filter: { _id: d._id, revision: d.revision, searchVersion: d.searchVersion ?? { $exists: false } },
              update: { $set: { searchKeys: partySearchKeys(d), searchVersion: SEARCH_VERSION } },
            },
          })),
          { ordered: false },
        );
        rewritten += res.modifiedCount;
        pending = [];
      };
      for await (const doc of this.parties.find(stale, NAME_FIELDS).lean<AnyParty>().cursor({ batchSize: 500 })) {
        if (signal?.aborted) return rewritten;
        found++;
        pending.push(doc);
        if (pending.length >= batch) await flush();
      }
      await flush();
      if (found === 0) break;
    }
    return rewritten;
  }

  /** People matching a search, in name order. */
  searchPeople(orgId: string, query: PeopleQuery): Promise<PersonDoc[]> {
    return this.kinds.person
      .find({ ...query.filter, orgId })
      .sort({ sortKey: 1 })
      .limit(query.read)
      .lean<PersonDoc[]>()
      .exec();
  }

  /** Parties of any kind matching a search, in name order. */
  search(orgId: string, query: PartiesQuery): Promise<AnyParty[]> {
    return this.parties.find(this.scoped(orgId, query.filter)).sort({ sortKey: 1 }).limit(query.read).lean<AnyParty[]>().exec();
  }
}
