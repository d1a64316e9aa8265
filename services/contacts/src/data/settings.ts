import mongoose, { type Connection, type Model } from 'mongoose';
import { isDuplicateKey, modelOf } from '@relais/shared';
import type { SensitiveTerm } from '../contract/vocabulary';
import { sensitiveList, type SensitiveList } from '../domain/observation';
import { NO_ORG_TERMS, orgTermList, type StoredTermList } from '../domain/sensitiveTerms';

/** The contacts settings of one org, keyed by the org id (so scoped by construction). */
export interface ContactSettingsDoc {
  _id: string;
  sensitiveTerms: StoredTermList;
  updatedAt: Date;
  updatedBy: string;
}

const termSchema = new mongoose.Schema<SensitiveTerm>({ term: { type: String, required: true }, category: { type: String, required: true } }, { _id: false });

const schema = new mongoose.Schema<ContactSettingsDoc>(
  {
    _id: { type: String, required: true },
    sensitiveTerms: {
      type: new mongoose.Schema<StoredTermList>({ added: { type: [termSchema], default: [] }, disabled: { type: [String], default: [] } }, { _id: false }),
      required: true,
    },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  // Read by _id only: no secondary index.
  { versionKey: false, collection: 'contact_settings' },
);

/** How long an org's list is kept in memory: every channel write with an observation reads it. */
export const TERM_LIST_TTL_MS = 5_000;
// Past this many cached orgs, expired entries are dropped when another is added.
const PRUNE_ABOVE = 1_000;

interface Cached {
  list: Promise<SensitiveList>;
  expires: number;
}

/**
 * The `contact_settings` collection, one document per org, and the org's list of sensitive
 * terms ready to match, cached per instance for TERM_LIST_TTL_MS. A save on this instance
 * replaces its cached list at once; other instances keep theirs until it expires, so an
 * org's change reaches their observation checks within that time.
 */
export class ContactSettings {
  private readonly cache = new Map<string, Cached>();

  private constructor(
    private readonly model: Model<ContactSettingsDoc>,
    private readonly ttlMs: number,
  ) {}

  static open(db: Connection, ttlMs = TERM_LIST_TTL_MS): ContactSettings {
    const model = modelOf<ContactSettingsDoc>(db, 'ContactSettings', schema);
    return new ContactSettings(model, ttlMs);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** The org's settings as stored, or null when it never saved any. Not cached: for the settings routes. */
  get(orgId: string): Promise<ContactSettingsDoc | null> {
    return this.model.findById(orgId).lean<ContactSettingsDoc>().exec();
  }

  /** Replaces the org's sensitive terms, and this instance's cached list with them. */
  async saveSensitiveTerms(orgId: string, terms: StoredTermList, by: string, at: Date): Promise<ContactSettingsDoc> {
    const doc: ContactSettingsDoc = { _id: orgId, sensitiveTerms: terms, updatedAt: at, updatedBy: by };
    const write = () => this.model.replaceOne({ _id: orgId }, doc, { upsert: true }).exec();
    try {
      await write();
    } catch (err) {
      // Two first saves of the org at once: one upsert inserted, the other now finds it and replaces it.
      if (!isDuplicateKey(err)) throw err;
      await write();
    }
    this.remember(orgId, Promise.resolve(sensitiveList(orgTermList(terms))));
    return doc;
  }

  /** The list the org's observations are matched against (the French default until it saves its own). */
  sensitiveList(orgId: string): Promise<SensitiveList> {
    const hit = this.cache.get(orgId);
    if (hit && hit.expires > Date.now()) return hit.list;
    const list = this.get(orgId).then((doc) => sensitiveList(orgTermList(doc?.sensitiveTerms ?? NO_ORG_TERMS)));
    this.remember(orgId, list);
    // A failed read is not kept: the next check reads again. A save meanwhile replaced the entry, and stays.
    list.catch(() => {
      if (this.cache.get(orgId)?.list === list) this.cache.delete(orgId);
    });
    return list;
  }

  private remember(orgId: string, list: Promise<SensitiveList>): void {
    const now = Date.now();
    if (this.cache.size > PRUNE_ABOVE) for (const [id, entry] of this.cache) if (entry.expires <= now) this.cache.delete(id);
    this.cache.set(orgId, { list, expires: now + this.ttlMs });
  }
}
