import mongoose, { type Connection, type Model } from 'mongoose';
import { insertEach, isDuplicateKey, modelOf, upsertNewer } from '@relais/shared';
import { SCREENING_DECISIONS, SCREENING_OUTCOMES, SCREENING_TRIGGERS, SUBJECT_KINDS } from '../contract/screening';
import type { DecisionRecord, ScreeningCheckDoc, ScreeningStatusDoc } from '../domain/screeningChecks';

// ---------------------------------------------------------------- screening_checks

const subjectSchema = new mongoose.Schema(
  { kind: { type: String, enum: SUBJECT_KINDS, required: true }, id: { type: String, required: true }, partyId: { type: String, required: true } },
  { _id: false },
);
const inputSchema = new mongoose.Schema(
  {
    nature: { type: String, required: true },
    name: { type: String, required: true },
    otherNames: { type: [String], default: undefined },
    birthDate: String,
    nationality: String,
  },
  { _id: false },
);
const candidateSchema = new mongoose.Schema(
  { entryId: { type: String, required: true }, name: String, matchedName: String, score: Number, reasons: [String] },
  { _id: false },
);
const decisionSchema = new mongoose.Schema(
  { decision: { type: String, enum: SCREENING_DECISIONS, required: true }, reason: String, by: String, at: Date },
  { _id: false },
);

const checkSchema = new mongoose.Schema<ScreeningCheckDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    subject: { type: subjectSchema, required: true },
    input: { type: inputSchema, required: true },
    publication: { type: new mongoose.Schema({ publishedAt: Date, hash: String }, { _id: false }), default: null },
    algorithmVersion: { type: String, required: true },
    outcome: { type: String, enum: SCREENING_OUTCOMES, required: true },
    candidates: { type: [candidateSchema], default: [] },
    trigger: { type: String, enum: SCREENING_TRIGGERS, required: true },
    at: { type: Date, required: true },
    by: { type: String, required: true },
    saveRefused: { type: Boolean, default: false },
    decision: { type: decisionSchema, default: null },
    decisions: { type: [decisionSchema], default: [] },
    jobId: String,
    hit: Boolean,
    review: { type: String, enum: ['open', 'closed'] },
  },
  { versionKey: false, collection: 'screening_checks' },
);
// Serves a party's checks (its own and its client contacts'), newest first: { orgId, subject.partyId } sorted by at, _id descending.
checkSchema.index({ orgId: 1, 'subject.partyId': 1, at: -1, _id: -1 });
// Serves an org's re-screen hits by review status, newest first: { orgId, hit: true, review } sorted by at, _id descending.
checkSchema.index({ orgId: 1, hit: 1, review: 1, at: -1, _id: -1 });
// Serves the counts of a re-screen's checks and hits, overall on resuming it ({ jobId }, { jobId, hit }) and per org ({ jobId, hit, orgId }).
checkSchema.index({ jobId: 1, hit: 1, orgId: 1 });

// ---------------------------------------------------------------- screening_status

const statusSchema = new mongoose.Schema<ScreeningStatusDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    subject: { type: subjectSchema, required: true },
    checkId: { type: String, required: true },
    outcome: { type: String, enum: SCREENING_OUTCOMES, required: true },
    potentialIds: { type: [String], default: [] },
    publicationHash: { type: String, default: null },
    changedAt: { type: Date, required: true },
  },
  // Read by _id only (a re-screen page's subjects): no secondary index.
  { versionKey: false, collection: 'screening_status' },
);

/** A page of checks, newest first, after a cursor. */
export interface CheckPageQuery {
  limit: number;
  after?: { at: Date; id: string };
}

const afterFilter = (after: CheckPageQuery['after']) => (after ? { $or: [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: after.id } }] } : {});

/**
 * The screening log (`screening_checks`, every check kept as it was made, with its decisions)
 * and the latest status of each screened subject (`screening_status`), which a re-screen
 * compares its results with. Every read is scoped by org, except the re-screen's own counts.
 */
export class ScreeningLog {
  private constructor(
    private readonly checks: Model<ScreeningCheckDoc>,
    private readonly statuses: Model<ScreeningStatusDoc>,
    private readonly updateBatch: number,
  ) {}

  static open(db: Connection, updateBatch = 10): ScreeningLog {
    return new ScreeningLog(
      modelOf<ScreeningCheckDoc>(db, 'ScreeningCheck', checkSchema),
      modelOf<ScreeningStatusDoc>(db, 'ScreeningStatus', statusSchema),
      updateBatch,
    );
  }

  async init(): Promise<void> {
    await Promise.all([this.checks.createIndexes(), this.statuses.createIndexes()]);
  }

  /** Logs a check; false when one with its id is there already (a retry with the same Idempotency-Key). */
  async insert(doc: ScreeningCheckDoc): Promise<boolean> {
    return (await insertEach(this.checks, [doc as never]))[0];
  }

  /** Logs checks in one command; per check, whether it was inserted (false: already there). */
  insertMany(docs: readonly ScreeningCheckDoc[]): Promise<boolean[]> {
    return insertEach(this.checks, docs as never[]);
  }

  byId(orgId: string, checkId: string): Promise<ScreeningCheckDoc | null> {
    return this.checks.findOne({ _id: checkId, orgId }).lean<ScreeningCheckDoc>().exec();
  }

  /** A party's checks and its client contacts', newest first (one more than the page, to tell whether another follows). */
  ofParty(orgId: string, partyId: string, page: CheckPageQuery): Promise<ScreeningCheckDoc[]> {
    return this.checks
      .find({ ...afterFilter(page.after), orgId, 'subject.partyId': partyId })
      .sort({ at: -1, _id: -1 })
      .limit(page.limit + 1)
      .lean<ScreeningCheckDoc[]>()
      .exec();
  }

  /** The org's re-screen hits, by review status (all: both), newest first. */
  hits(orgId: string, status: 'open' | 'closed' | 'all', page: CheckPageQuery): Promise<ScreeningCheckDoc[]> {
    return this.checks
      .find({ ...afterFilter(page.after), orgId, hit: true, ...(status === 'all' ? {} : { review: status }) })
      .sort({ at: -1, _id: -1 })
      .limit(page.limit + 1)
      .lean<ScreeningCheckDoc[]>()
      .exec();
  }

  /**
   * Adds a decision to a check and makes it the current one; a hit's review is closed by it. One
   * single-document update; two managers deciding the same check at the same instant on FerretDB
   * may keep one history entry only (its updates of one document are not atomic between clients).
   */
  async addDecision(orgId: string, checkId: string, decision: DecisionRecord): Promise<ScreeningCheckDoc | null> {
    const current = await this.byId(orgId, checkId);
    if (!current) return null;
    const $set: Record<string, unknown> = { decision };
    if (current.hit) $set.review = 'closed';
    await this.checks.updateOne({ _id: checkId, orgId }, { $set, $push: { decisions: decision } }).exec();
    return this.byId(orgId, checkId);
  }

  /** Checks a re-screen wrote, and its hits: the truth its progress counts are rebuilt from when resumed. */
  async countRescreen(jobId: string, orgId?: string): Promise<{ done: number; newHits: number }> {
    const scope = orgId ? { orgId } : {};
    const [done, newHits] = await Promise.all([
      orgId ? Promise.resolve(0) : this.checks.countDocuments({ jobId }).exec(),
      this.checks.countDocuments({ jobId, hit: true, ...scope }).exec(),
    ]);
    return { done, newHits };
  }

  /** The latest status of each of these subjects (by statusKey) that has one. */
  async statusesOf(keys: readonly string[]): Promise<Map<string, ScreeningStatusDoc>> {
    if (keys.length === 0) return new Map();
    const docs = await this.statuses
      .find({ _id: { $in: [...keys] } })
      .lean<ScreeningStatusDoc[]>()
      .exec();
    return new Map(docs.map((d) => [d._id, d]));
  }

  /** Records subjects' latest statuses, unless a later check's status is stored (in capped update commands). */
  async saveStatuses(views: readonly ScreeningStatusDoc[]): Promise<void> {
    await upsertNewer(this.updateBatch, this.statuses, views);
  }
}

// ---------------------------------------------------------------- rescreen_jobs

/** The re-screen of every subject after a publication: one per publication, claimed by one instance at a time. */
export interface RescreenJobDoc {
  /** The publication's content hash: inserting the job is the first claim, unique. */
  _id: string;
  publishedAt: Date;
  entryCount: number;
  startedAt: Date;
  /** The instance doing it, under lease number `lease`. */
  owner: string;
  lease: number;
  heartbeatAt: Date;
  /** Position: the source (parties first) and the last subject id done in it. */
  sourceIndex: number;
  lastId: string | null;
  done: number;
  total: number;
  newHits: number;
  finishedAt: Date | null;
  /** Set when a newer publication replaced this one before the job finished. */
  supersededBy?: string;
}

/** A job without a heartbeat for this long is taken over by another instance (the default; tests shorten it). */
export const RESCREEN_LEASE_MS = 60_000;

/** running; interrupted (no heartbeat within the lease: another instance resumes it); finished; superseded. */
export function rescreenState(job: RescreenJobDoc, now: Date, leaseMs = RESCREEN_LEASE_MS): 'running' | 'interrupted' | 'finished' | 'superseded' {
  if (job.supersededBy) return 'superseded';
  if (job.finishedAt) return 'finished';
  return now.getTime() - job.heartbeatAt.getTime() < leaseMs ? 'running' : 'interrupted';
}

/** A takeover of a job whose instance stopped: `${jobId}:${lease}`, inserted once (the claim). */
interface RescreenClaimDoc {
  _id: string;
  owner: string;
  at: Date;
}

const jobSchema = new mongoose.Schema<RescreenJobDoc>(
  {
    _id: { type: String, required: true },
    publishedAt: { type: Date, required: true },
    entryCount: { type: Number, required: true },
    startedAt: { type: Date, required: true },
    owner: { type: String, required: true },
    lease: { type: Number, required: true },
    heartbeatAt: { type: Date, required: true },
    sourceIndex: { type: Number, required: true },
    lastId: { type: String, default: null },
    done: { type: Number, required: true },
    total: { type: Number, required: true },
    newHits: { type: Number, required: true },
    finishedAt: { type: Date, default: null },
    supersededBy: String,
  },
  { versionKey: false, collection: 'rescreen_jobs' },
);
// Serves the list of re-screens, newest first (GET /v1/screening/rescreens, `register status`): sorted by startedAt descending.
jobSchema.index({ startedAt: -1 });
// Serves finding the unfinished jobs a new one supersedes: { finishedAt: null }.
jobSchema.index({ finishedAt: 1 });

const claimSchema = new mongoose.Schema<RescreenClaimDoc>(
  { _id: { type: String, required: true }, owner: { type: String, required: true }, at: { type: Date, required: true } },
  // Written and read by _id only: no secondary index.
  { versionKey: false, collection: 'rescreen_claims' },
);

/**
 * The re-screen jobs. FerretDB makes only unique inserts atomic between clients, so every
 * claim is one: the job's own insert (lease 1), then `rescreen_claims` for each takeover. The
 * owner's progress writes name its lease, so an instance that lost the job stops at its next page.
 */
export class RescreenJobs {
  private constructor(
    private readonly jobs: Model<RescreenJobDoc>,
    private readonly claims: Model<RescreenClaimDoc>,
  ) {}

  static open(db: Connection): RescreenJobs {
    return new RescreenJobs(modelOf<RescreenJobDoc>(db, 'RescreenJob', jobSchema), modelOf<RescreenClaimDoc>(db, 'RescreenClaim', claimSchema));
  }

  async init(): Promise<void> {
    await Promise.all([this.jobs.createIndexes(), this.claims.createIndexes()]);
  }

  byId(jobId: string): Promise<RescreenJobDoc | null> {
    return this.jobs.findById(jobId).lean<RescreenJobDoc>().exec();
  }

  latest(limit: number): Promise<RescreenJobDoc[]> {
    return this.jobs.find({}).sort({ startedAt: -1 }).limit(limit).lean<RescreenJobDoc[]>().exec();
  }

  /** Creates the job of a publication: true for the one instance whose insert won. */
  async create(job: RescreenJobDoc): Promise<boolean> {
    return (await insertEach(this.jobs, [job as never]))[0];
  }

  /** Claims lease `lease` of a job: true for the one instance whose insert won. */
  async claim(jobId: string, lease: number, owner: string, at: Date): Promise<boolean> {
    return (await insertEach(this.claims, [{ _id: `${jobId}:${lease}`, owner, at }]))[0];
  }

  claimOf(jobId: string, lease: number): Promise<RescreenClaimDoc | null> {
    return this.claims.findById(`${jobId}:${lease}`).lean<RescreenClaimDoc>().exec();
  }

  /**
   * Hands the job, still at lease `from`, to `owner` under `lease` (the winner of its claim, or the
   * owner itself resuming), with its counts rebuilt from the log; false when it moved on meanwhile.
   */
  async takeOver(jobId: string, from: number, lease: number, owner: string, at: Date, counts: { done: number; newHits: number }): Promise<boolean> {
    const res = await this.jobs.updateOne({ _id: jobId, lease: from }, { $set: { lease, owner, heartbeatAt: at, ...counts } }).exec();
    return res.matchedCount === 1;
  }

  /** Records a page done by the holder of `lease`; false when another instance took the job over. */
  async progress(
    jobId: string,
    lease: number,
    position: { sourceIndex: number; lastId: string | null },
    counts: { done: number; newHits: number },
    at: Date,
  ): Promise<boolean> {
    const res = await this.jobs
      .updateOne({ _id: jobId, lease }, { $set: { ...position, heartbeatAt: at }, $inc: counts })
      .exec()
      .catch((err: unknown) => {
        if (isDuplicateKey(err)) return { matchedCount: 0 };
        throw err;
      });
    return res.matchedCount === 1;
  }

  async finish(jobId: string, lease: number, at: Date): Promise<void> {
    await this.jobs.updateOne({ _id: jobId, lease }, { $set: { finishedAt: at, heartbeatAt: at } }).exec();
  }

  /** Ends the unfinished jobs of older publications: the new job re-screens every subject anyway. */
  async supersedeOthers(jobId: string, at: Date): Promise<void> {
    const stale = await this.jobs
      .find({ finishedAt: null, _id: { $ne: jobId } }, { _id: 1 })
      .lean<{ _id: string }[]>()
      .exec();
    // One document per command: a handful at most, and never a multi-document update on FerretDB.
    for (const { _id } of stale) await this.jobs.updateOne({ _id }, { $set: { finishedAt: at, supersededBy: jobId } }).exec();
  }
}
