import type { Clock } from '../clock';
import type { DeliveryLedger } from '../delivery/ledger';
import { assignLots, type LotDoc } from '../delivery/lot';
import type { DeliveryDoc } from '../delivery/status';
import type { PendingMail } from './pendingMail';
import { WHOLE_ORG_FROM, only, type Recipients } from './recipients';
import type { Claims } from '../sending/claims';
import type { Schedule } from './schedule';
import type { SettingsRepo } from '../settings/repo';
import { digestCounts, digestDeliveries, notDomiciled, reminderDelivery, type Recipient, type Sending } from './deliveries';
import { localDate, nextSlot, previousSlot, scheduleKey } from './slots';
import type { OrgSettings } from '../settings/settings';
import type { TemplateBook } from '../settings/templateBook';

export interface SchedulerOptions {
  owner: string;
  /** How long a claimed slot stays with its instance before another may take it over. */
  leaseMs: number;
  maxLatenessMs: number;
  /** Deliveries per send lot. */
  lotSize: number;
}

/**
 * Turns due slots and reminders into delivery rows. Every step is idempotent (the row id is
 * its dedupe key), so a slot processed twice — a lease taken over after a crash — sends nothing twice.
 */
export class Scheduler {
  constructor(
    private readonly deps: {
      settings: SettingsRepo;
      schedule: Schedule;
      claims: Claims;
      pendingMail: PendingMail;
      recipients: Recipients;
      ledger: DeliveryLedger;
      templates: TemplateBook;
      clock: Clock;
      /** Told each time a lot is written, so that it goes out without waiting for the sender's next pass. */
      onLot?: (lot: LotDoc) => void;
      /**
       * True once this service's consumers have handled every event stored so far, false if they did
       * not within a bounded wait. Absent: nothing waits (tests that write the read models themselves).
       */
      eventsApplied?: () => Promise<boolean>;
    },
    private readonly opts: SchedulerOptions,
  ) {}

  /** The earliest slot or reminder found still to come by the last pass (null: none, or the pass failed). */
  private nextDue: Date | null = null;

  async runOnce(): Promise<void> {
    this.nextDue = null;
    const now = this.deps.clock.now();
    // A due slot or reminder waits for the events stored before it (mail registered while this service
    // was down waits in JetStream): asked once per pass, when the first one is due.
    let applied: Promise<boolean> | undefined;
    const eventsApplied = () => (applied ??= this.deps.eventsApplied?.() ?? Promise.resolve(true));
    const upcoming: Date[] = [];
    for (const org of await this.deps.settings.smsEnabled()) {
      const next = await this.catchUp(org, now, eventsApplied);
      if (next) upcoming.push(next);
    }
    await this.reminders(now, eventsApplied);
    const reminder = await this.deps.schedule.nextReminderAt(now);
    if (reminder) upcoming.push(reminder);
    this.nextDue = upcoming.reduce<Date | null>((a, b) => (a && a <= b ? a : b), null);
  }

  /** Milliseconds until the next slot or reminder, so that the loop runs right when it falls. */
  msUntilNextDue(): number | null {
    return this.nextDue ? this.nextDue.getTime() - this.deps.clock.now().getTime() : null;
  }

  private lease(now: Date): number {
    return Math.floor(now.getTime() / this.opts.leaseMs);
  }

  /**
   * Processes every slot of the org between its last handled slot and now, oldest first. Returns
   * the org's next slot, or null when another instance holds a due one or the events are not applied yet.
   */
  private async catchUp(org: OrgSettings, now: Date, eventsApplied: () => Promise<boolean>): Promise<Date | null> {
    const { schedule } = this.deps;
    let progress = await schedule.slotProgress(org.orgId);
    if (!progress) {
      // SMS just enabled: the first slot is the next one.
      progress = { lastSlotAt: previousSlot(now, org.sendDays, org.timeZone), replannedAt: null, replannedFor: null };
      await schedule.setLastSlot(org.orgId, progress.lastSlotAt);
    }
    // Each slot's window starts at the slot handled before it. After a change of send days or zone the
    // new schedule's slots come after the change, and the last slot of the old one still opens the window:
    // no mail is announced twice nor left out.
    const { lastSlotAt, replannedAt, replannedFor } = progress;
    const replanned = replannedAt && replannedAt > lastSlotAt && replannedFor === scheduleKey(org.sendDays, org.timeZone) ? replannedAt : null;
    let from = lastSlotAt;
    let slot = nextSlot(replanned ?? lastSlotAt, org.sendDays, org.timeZone);
    for (; slot <= now; slot = nextSlot(slot, org.sendDays, org.timeZone)) {
      if (!(await eventsApplied())) return null;
      const key = `slot:${org.orgId}:${slot.toISOString()}:${this.lease(now)}`;
      if (!(await this.deps.claims.claim([key], this.opts.owner, now)).has(key)) return null;
      await this.digest(org, slot, now, from);
      await schedule.setLastSlot(org.orgId, slot);
      from = slot;
    }
    return slot;
  }

  /**
   * A slot at this instant for one org (a non-production rehearsal): the mail registered since the
   * last slot handled is announced now, and that slot becomes the next one's window start. Null when
   * the events stored by now are not applied yet.
   */
  async rehearse(org: OrgSettings): Promise<{ slotAt: Date; from: Date; deliveries: number } | null> {
    if (!(await (this.deps.eventsApplied?.() ?? Promise.resolve(true)))) return null;
    const now = this.deps.clock.now();
    const from = (await this.deps.schedule.slotProgress(org.orgId))?.lastSlotAt ?? previousSlot(now, org.sendDays, org.timeZone);
    const deliveries = await this.digest(org, now, now, from);
    await this.deps.schedule.setLastSlot(org.orgId, now);
    return { slotAt: now, from, deliveries };
  }

  private sending(org: OrgSettings, now: Date): Sending {
    return {
      smsEnabled: org.smsEnabled,
      senderId: org.senderId,
      signature: org.signature,
      render: (type, vars) => this.deps.templates.render(org, type, vars),
      now,
      maxLatenessMs: this.opts.maxLatenessMs,
    };
  }

  /**
   * One SMS per person and kind with mail registered in (from, slot] (the cut-off is the slot, not now;
   * `from` is the slot handled before), none for people whose domiciliation is over by the slot's day.
   */
  async digest(org: OrgSettings, slot: Date, now: Date, from = previousSlot(new Date(slot.getTime() - 1), org.sendDays, org.timeZone)): Promise<number> {
    // Consent changes from here on are re-checked at send time.
    const checkedAt = this.deps.clock.now();
    // Once the window shows a slot of many people, the org's recipients are read alongside the rest of it.
    const people = new Set<string>();
    const early: { recipients?: Promise<Map<string, Recipient>> } = {};
    const rows = await this.deps.pendingMail.window(org.orgId, from, slot, (row) => {
      people.add(row.personId);
      if (!early.recipients && people.size >= WHOLE_ORG_FROM) {
        early.recipients = this.deps.recipients.consenting(org.orgId);
        early.recipients.catch(() => undefined); // awaited below, unless the window read fails first
      }
    });
    const counts = digestCounts(rows, slot);
    if (counts.size === 0) return 0;
    const slotDay = localDate(slot, org.timeZone);
    const [recipients, domiciliations] = await Promise.all([
      early.recipients ? early.recipients.then((all) => only(all, counts.keys())) : this.deps.recipients.forPeople(org.orgId, [...counts.keys()]),
      this.deps.recipients.notActiveOn(org.orgId, [...counts.keys()], slotDay),
    ]);
    const notDomiciledWhy = new Map<string, string>();
    for (const [personId, d] of domiciliations) {
      const why = notDomiciled(d, slotDay);
      if (why) notDomiciledWhy.set(personId, why);
    }
    const docs = digestDeliveries(org.orgId, slot, counts, recipients, this.sending(org, now), notDomiciledWhy);
    return this.store(`digest:${org.orgId}:${slot.toISOString()}`, org.orgId, docs, checkedAt);
  }

  /**
   * One delivery due now (a contact SMS), written with its lot as a slot's are, so that it goes out
   * through the same sending path. Returns false when it existed already (the same request again):
   * nothing more is sent, its lot being the one written the first time.
   */
  async sendNow(doc: DeliveryDoc): Promise<boolean> {
    return (await this.store(doc._id, doc.orgId, [doc], this.deps.clock.now())) > 0;
  }

  /** Deliveries written in lots (see DeliveryLedger.create); each lot goes to the sender as soon as it is written. */
  private store(lotPrefix: string, orgId: string, docs: DeliveryDoc[], checkedAt: Date): Promise<number> {
    return this.deps.ledger.create(assignLots(lotPrefix, orgId, docs, this.opts.lotSize, checkedAt, this.deps.clock.now()), this.deps.onLot);
  }

  private async reminders(now: Date, eventsApplied: () => Promise<boolean>): Promise<void> {
    const { schedule, settings, recipients } = this.deps;
    const due = await schedule.dueReminders(now, 500);
    if (due.length === 0 || !(await eventsApplied())) return;
    const won = await this.deps.claims.claim(
      due.map((r) => `reminder:${r._id}:${this.lease(now)}`),
      this.opts.owner,
      now,
    );
    const done: string[] = [];
    for (const r of due.filter((r) => won.has(`reminder:${r._id}:${this.lease(now)}`))) {
      const view = await recipients.domiciliation(r.orgId, r.personId);
      // Ended, refused or moved since it was planned: its replacement (if any) is planned already.
      if (view && view.status === 'active' && view.endDate === r.endDate) {
        // An org that never saved settings has SMS off: the reminder is recorded as skipped.
        const org = await settings.orDefault(r.orgId);
        const checkedAt = this.deps.clock.now();
        const recipient = (await recipients.forPeople(r.orgId, [r.personId])).get(r.personId);
        const doc = reminderDelivery(r.orgId, r.personId, r.endDate, r.dueAt, recipient, this.sending(org, now));
        await this.store(doc._id, r.orgId, [doc], checkedAt);
      }
      done.push(r._id);
    }
    await schedule.markRemindersDone(done);
  }
}
