import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, insertManyIgnoringDuplicates, isDuplicateKey } from '@relais/shared';

/**
 * Per org, the last digest slot handled: the scheduler catches up from there after downtime, and
 * the next slot's mail window starts there. `replannedAt`: when the send days or the zone last
 * changed, to the schedule `replannedFor` (see scheduleKey); that schedule's slots come after it.
 */
export interface SlotProgress {
  lastSlotAt: Date;
  replannedAt: Date | null;
  replannedFor: string | null;
}
export interface ProgressDoc extends SlotProgress {
  _id: string;
}
const progressSchema = new mongoose.Schema<ProgressDoc>(
  {
    _id: String,
    lastSlotAt: { type: Date, required: true },
    replannedAt: { type: Date, default: null },
    replannedFor: { type: String, default: null },
  },
  { versionKey: false, collection: 'digest_progress' },
);

/** An end-of-domiciliation reminder to send at `dueAt`; one per (person, end date). */
export interface ReminderDoc {
  _id: string;
  orgId: string;
  personId: string;
  endDate: string;
  dueAt: Date;
  state: 'scheduled' | 'done' | 'cancelled';
}
const reminderSchema = new mongoose.Schema<ReminderDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    personId: { type: String, required: true },
    endDate: { type: String, required: true },
    dueAt: { type: Date, required: true },
    state: { type: String, enum: ['scheduled', 'done', 'cancelled'], required: true },
  },
  { versionKey: false, collection: 'reminders' },
);
// Serves the scheduler: reminders due { state: 'scheduled', dueAt <= now }, and the next to come (dueAt > now, first).
reminderSchema.index({ state: 1, dueAt: 1 });
// Serves moving or cancelling a person's reminders: { orgId, personId, state }.
reminderSchema.index({ orgId: 1, personId: 1, state: 1 });

export class Schedule {
  private constructor(
    private readonly progress: Model<ProgressDoc>,
    private readonly reminders: Model<ReminderDoc>,
    private readonly updateBatch: number,
  ) {}

  static open(db: Connection, updateBatch: number): Schedule {
    return new Schedule(db.model<ProgressDoc>('DigestProgress', progressSchema), db.model<ReminderDoc>('Reminder', reminderSchema), updateBatch);
  }

  async init(): Promise<void> {
    await this.reminders.createIndexes();
  }

  async slotProgress(orgId: string): Promise<SlotProgress | null> {
    const doc = await this.progress.findById(orgId).lean<ProgressDoc>().exec();
    return doc ? { lastSlotAt: doc.lastSlotAt, replannedAt: doc.replannedAt ?? null, replannedFor: doc.replannedFor ?? null } : null;
  }

  async setLastSlot(orgId: string, at: Date): Promise<void> {
    const write = () => this.progress.updateOne({ _id: orgId }, { $max: { lastSlotAt: at } }, { upsert: true }).exec();
    // Two instances upserting at once: the loser's insert hits the key the winner created; once more updates it.
    await write().catch((err: unknown) => {
      if (isDuplicateKey(err)) return write();
      throw err;
    });
  }

  /**
   * The org's send days or zone change at `at` to the schedule `schedule` (see scheduleKey): that
   * schedule's next slot is its first after `at`. Written before the settings, so that no pass sees
   * the new schedule without it; a pass that still sees the old schedule ignores it.
   */
  async replanSlots(orgId: string, at: Date, schedule: string): Promise<void> {
    // No progress yet: SMS were never on, and switching them on starts from the slot before then.
    await this.progress.updateOne({ _id: orgId }, { $set: { replannedAt: at, replannedFor: schedule } }).exec();
  }

  /** Plans a reminder (idempotent) and cancels the person's other scheduled ones (an end date moved). */
  async planReminder(r: Omit<ReminderDoc, '_id' | 'state'>): Promise<void> {
    const id = `${r.orgId}:${r.personId}:${r.endDate}`;
    await this.reminders
      .updateMany({ orgId: r.orgId, personId: r.personId, state: 'scheduled', endDate: { $ne: r.endDate } }, { $set: { state: 'cancelled' } })
      .exec();
    await insertManyIgnoringDuplicates(this.reminders, [{ _id: id, ...r, state: 'scheduled' }]);
  }

  async cancelReminders(orgId: string, personId: string): Promise<void> {
    await this.reminders.updateMany({ orgId, personId, state: 'scheduled' }, { $set: { state: 'cancelled' } }).exec();
  }

  /** After an org's first save or a change of its zone: every scheduled reminder gets its local 19:00. */
  async replanReminders(orgId: string, dueAt: (endDate: string) => Date): Promise<void> {
    const scheduled = await this.reminders.find({ orgId, state: 'scheduled' }, { endDate: 1 }).lean<ReminderDoc[]>().exec();
    for (const part of chunks(scheduled, this.updateBatch)) {
      await this.reminders.bulkWrite(
        part.map((r) => ({ updateOne: { filter: { _id: r._id, state: 'scheduled' }, update: { $set: { dueAt: dueAt(r.endDate) } } } })),
        { ordered: false },
      );
    }
  }

  dueReminders(now: Date, limit: number) {
    return this.reminders
      .find({ state: 'scheduled', dueAt: { $lte: now } })
      .sort({ dueAt: 1 })
      .limit(limit)
      .lean<ReminderDoc[]>()
      .exec();
  }

  /** When the first reminder still to come after `now` is due (the scheduler waits until then at most). */
  async nextReminderAt(now: Date): Promise<Date | null> {
    const next = await this.reminders
      .findOne({ state: 'scheduled', dueAt: { $gt: now } }, { dueAt: 1 })
      .sort({ dueAt: 1 })
      .lean<Pick<ReminderDoc, 'dueAt'>>()
      .exec();
    return next?.dueAt ?? null;
  }

  async markRemindersDone(ids: string[]): Promise<void> {
    for (const part of chunks(ids, this.updateBatch)) {
      await this.reminders.updateMany({ _id: { $in: part }, state: 'scheduled' }, { $set: { state: 'done' } }).exec();
    }
  }
}
