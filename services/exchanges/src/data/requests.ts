import mongoose, { type Connection } from 'mongoose';
import { TenantRepository, insertEach, modelOf } from '@relais/shared';
import { REQUEST_STATUSES, type RequestDoc } from '../domain/requests';

const schema = new mongoose.Schema<RequestDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    number: { type: Number, required: true },
    clientId: { type: String, required: true },
    interlocutor: { type: Number, default: null },
    title: { type: String, required: true },
    assignedTo: { type: String, default: null },
    team: { type: String, default: null },
    status: { type: String, enum: REQUEST_STATUSES, required: true },
    openedAt: { type: Date, required: true },
    doneAt: { type: Date, default: null },
    closedAt: { type: Date, default: null },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'intervention_requests' },
);
// Serves the numbering (one number per org, the unique insert decides between two creations) and
// the lookup by number: { orgId, number }.
schema.index({ orgId: 1, number: 1 }, { unique: true });
// Serves a client's requests (the file, the portal): { orgId, clientId }.
schema.index({ orgId: 1, clientId: 1 });

/** How many times a creation takes the next number after another creation took the one it tried. */
const NUMBER_ATTEMPTS = 16;

/** Intervention requests, numbered per org in the order they are registered. */
export class InterventionRequests extends TenantRepository<RequestDoc> {
  /** The next number to try per org, as this process last saw it (a miss re-reads the highest). */
  private readonly next = new Map<string, number>();
  /** Per org, the creation under way in this process: the next one waits for it, so they never race for a number here. */
  private readonly numbering = new Map<string, Promise<unknown>>();

  static open(db: Connection): InterventionRequests {
    return new InterventionRequests(modelOf<RequestDoc>(db, 'InterventionRequest', schema));
  }

  init = () => this.model.createIndexes();

  /**
   * Stores a new request with the org's next number. The number is taken by the unique insert on
   * { orgId, number }, which holds between instances on every database (FerretDB's counters would
   * not: its conditional updates are not atomic); one that another creation took first makes this
   * one read the highest number again and try the next. Within a process creations of an org take
   * their turn, so only other instances' creations can take a number first.
   */
  create(doc: Omit<RequestDoc, 'number'>): Promise<RequestDoc> {
    const before = this.numbering.get(doc.orgId) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(() => this.take(doc));
    this.numbering.set(doc.orgId, mine);
    void mine
      .finally(() => {
        if (this.numbering.get(doc.orgId) === mine) this.numbering.delete(doc.orgId);
      })
      .catch(() => {});
    return mine;
  }

  private async take(doc: Omit<RequestDoc, 'number'>): Promise<RequestDoc> {
    for (let attempt = 0; attempt < NUMBER_ATTEMPTS; attempt++) {
      const number = this.next.get(doc.orgId) ?? (await this.highest(doc.orgId)) + 1;
      const stored: RequestDoc = { ...doc, number };
      const [inserted] = await insertEach(this.model, [stored as unknown as Record<string, unknown>]);
      if (inserted) {
        this.next.set(doc.orgId, number + 1);
        return stored;
      }
      if (await this.model.exists({ _id: doc._id }).exec()) throw new Error(`intervention request ${doc._id} exists already`);
      this.next.delete(doc.orgId);
    }
    throw new Error(`no free request number for org ${doc.orgId} after ${NUMBER_ATTEMPTS} attempts`);
  }

  /** The highest number the org has used, 0 before its first request. */
  private async highest(orgId: string): Promise<number> {
    const last = await this.model.findOne({ orgId }, { number: 1 }).sort({ number: -1 }).lean<Pick<RequestDoc, 'number'>>().exec();
    return last?.number ?? 0;
  }

  get(orgId: string, id: string): Promise<RequestDoc | null> {
    return this.findOne(orgId, { _id: id });
  }

  byNumber(orgId: string, number: number): Promise<RequestDoc | null> {
    return this.findOne(orgId, { number });
  }

  /** A client's requests, the most recent first. */
  ofClient(orgId: string, clientId: string): Promise<RequestDoc[]> {
    return this.find(orgId, { clientId }).sort({ number: -1 }).exec();
  }

  /** Writes what may change of a request: its status and dates (see domain/requests.ts moved), interlocutor, collaborator and team. */
  async save(r: RequestDoc): Promise<void> {
    const { status, doneAt, closedAt, interlocutor, assignedTo, team, updatedAt } = r;
    await this.model.updateOne(this.scoped(r.orgId, { _id: r._id }), { $set: { status, doneAt, closedAt, interlocutor, assignedTo, team, updatedAt } }).exec();
  }

  /**
   * A request by its id alone, whatever its org: only for an e-mail that came in, addressed to
   * the request's reply address (which names no org), before anything else is known of it.
   */
  locate(id: string): Promise<RequestDoc | null> {
    return this.model.findById(id).lean<RequestDoc>().exec();
  }
}
