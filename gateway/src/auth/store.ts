import type { Connection, Model } from 'mongoose';
import { PortalAccesses } from './portal';
import { TenantRepository, conflict, connectDatabase, isDuplicateKey, withTimeout, type BaseConfig, type OrgContext } from '@relais/shared';
import { orgSchema, tokenSchema, tokenUsageSchema, userSchema, type OrgDoc, type TokenDoc, type TokenUsageDoc, type UserDoc } from './models';
import { IdempotencyKeys } from '../http/idempotency';
import type { Principal } from './principal';

/** The org facts put in every call's meta (shared OrgContext). */
export type OrgMeta = OrgContext;

export type { Principal };

export class OrgRepository {
  constructor(private readonly model: Model<OrgDoc>) {}

  async insert(doc: OrgDoc): Promise<OrgDoc> {
    await this.model.create(doc);
    return doc;
  }

  byId(orgId: string) {
    return this.model.findById(orgId).lean<OrgDoc>().exec();
  }

  /** The oldest org of that name (names are not unique; the demo seeding relies on its own). */
  findByName(name: string) {
    return this.model.findOne({ name }).sort({ _id: 1 }).lean<OrgDoc>().exec();
  }

  /** Every org, oldest first (ops tools; a platform holds a few thousand at most). */
  list() {
    return this.model.find().sort({ createdAt: 1 }).limit(10_000).lean<OrgDoc[]>().exec();
  }

  /** Compensates a half-created org (no multi-document transactions on FerretDB). */
  async remove(orgId: string): Promise<void> {
    await this.model.deleteOne({ _id: orgId }).exec();
  }
}

export class UserRepository extends TenantRepository<UserDoc> {
  async insert(doc: UserDoc): Promise<UserDoc> {
    try {
      await this.model.create(doc);
      return doc;
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`A user with the e-mail ${doc.email} already exists in this org.`);
      throw err;
    }
  }

  byId(orgId: string, userId: string) {
    return this.findOne(orgId, { _id: userId });
  }

  list(orgId: string) {
    return this.find(orgId).sort({ email: 1 }).limit(1000).exec();
  }

  /** The org's active users working in `team`. */
  ofTeam(orgId: string, team: string) {
    return this.find(orgId, { teams: team, disabled: false }).limit(1000).exec();
  }

  update(orgId: string, userId: string, patch: Partial<Pick<UserDoc, 'role' | 'disabled' | 'teams'>>) {
    return this.model
      .findOneAndUpdate(this.scoped(orgId, { _id: userId }), { $set: patch }, { returnDocument: 'after' })
      .lean<UserDoc>()
      .exec();
  }
}

export class TokenRepository extends TenantRepository<TokenDoc> {
  async insert(doc: TokenDoc): Promise<TokenDoc> {
    await this.model.create(doc);
    return doc;
  }

  /**
   * The one lookup across orgs: a bearer token is what tells us the org. The hash is
   * unique and unguessable, so this cannot leak another org's data.
   */
  byHash(hash: string) {
    return this.model.findOne({ hash }).lean<TokenDoc>().exec();
  }

  byId(orgId: string, tokenId: string) {
    return this.findOne(orgId, { _id: tokenId });
  }

  /** The org's tokens (or one user's), newest first; revoked ones only with `include: 'all'`. */
  list(orgId: string, opts: { userId?: string; include: 'active' | 'all' }) {
    const filter: Record<string, unknown> = {};
    if (opts.userId) filter.userId = opts.userId;
    if (opts.include === 'active') filter.revokedAt = null;
    return this.find(orgId, filter).sort({ createdAt: -1 }).limit(1000).exec();
  }

  /** Sets revokedAt once; revoking twice keeps the first date. */
  async revoke(orgId: string, tokenId: string, at: Date): Promise<void> {
    await this.model.updateOne(this.scoped(orgId, { _id: tokenId, revokedAt: null }), { $set: { revokedAt: at } }).exec();
  }
}

export class TokenUsageRepository extends TenantRepository<TokenUsageDoc> {
  async touch(orgId: string, tokenId: string, at: Date): Promise<void> {
    const update = () => this.model.updateOne(this.scoped(orgId, { _id: tokenId }), { $set: { lastUsedAt: at } }, { upsert: true }).exec();
    try {
      await update();
    } catch (err) {
      // Two first uses at once both upsert; the loser finds the document there and updates it.
      if (!isDuplicateKey(err)) throw err;
      await update();
    }
  }

  /** When each of these tokens was last used (tokens never used are absent). */
  async lastUsed(orgId: string, tokenIds: string[]): Promise<Map<string, Date>> {
    if (tokenIds.length === 0) return new Map();
    const docs = await this.find(orgId, { _id: { $in: tokenIds } }).exec();
    return new Map(docs.map((d) => [d._id, d.lastUsedAt]));
  }

  async lastUsedAt(orgId: string, tokenId: string): Promise<Date | undefined> {
    return (await this.findOne(orgId, { _id: tokenId }))?.lastUsedAt;
  }
}

/** The gateway's own database: orgs, users, API tokens and Idempotency-Keys. */
export class GatewayStore {
  readonly keys: IdempotencyKeys;
  readonly orgs: OrgRepository;
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly tokenUsage: TokenUsageRepository;
  readonly portal: PortalAccesses;

  private constructor(
    readonly db: Connection,
    private readonly timeoutMs: number,
  ) {
    this.orgs = new OrgRepository(db.model<OrgDoc>('Org', orgSchema));
    this.users = new UserRepository(db.model<UserDoc>('User', userSchema));
    this.tokens = new TokenRepository(db.model<TokenDoc>('ApiToken', tokenSchema));
    this.tokenUsage = new TokenUsageRepository(db.model<TokenUsageDoc>('ApiTokenUsage', tokenUsageSchema));
    this.keys = IdempotencyKeys.open(db, timeoutMs);
    this.portal = PortalAccesses.open(db, timeoutMs);
  }

  static async open(config: Pick<BaseConfig, 'MONGO_URL' | 'RELAIS_NAMESPACE' | 'DB_TIMEOUT_MS'>): Promise<GatewayStore> {
    const db = await connectDatabase(config, 'gateway');
    return new GatewayStore(db, config.DB_TIMEOUT_MS);
  }

  /** Creates the collections' indexes (autoIndex is off); safe to run at every start. */
  async init(): Promise<void> {
    for (const model of Object.values(this.db.models)) {
      await withTimeout(model.createIndexes(), this.timeoutMs, `indexes of ${model.collection.name}`);
    }
  }

  async ping(timeoutMs = 2_000): Promise<boolean> {
    return withTimeout(this.db.db!.command({ ping: 1 }), timeoutMs, 'gateway database ping').then(
      () => true,
      () => false,
    );
  }

  /** Who a token hash belongs to, or null when unknown, revoked, of a disabled user or of a deleted org. */
  async principalFor(hash: string): Promise<Principal | null> {
    const token = await withTimeout(this.tokens.byHash(hash), this.timeoutMs, 'token lookup');
    if (!token || token.revokedAt) return null;
    const [user, org] = await withTimeout(
      Promise.all([this.users.byId(token.orgId, token.userId), this.orgs.byId(token.orgId)]),
      this.timeoutMs,
      'token owner lookup',
    );
    if (!user || user.disabled || !org) return null;
    return {
      auth: { userId: user._id, orgId: user.orgId, role: user.role },
      org: { region: org.region, timeZone: org.timeZone },
      tokenId: token._id,
    };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
