import { DEFAULT_TIME_ZONE, type Envelope } from '@relais/shared';
import type { Clock } from '../clock';
import type { DeliveryLedger } from '../delivery/ledger';
import type { DeliveryDoc } from '../delivery/status';
import type { SettingsRepo } from '../settings/repo';
import type { OrgSettings } from '../settings/settings';
import type { SettingsHooks } from '../settings/useCases';
import { contactDeliveryId } from '../api';
import type { Recipients } from './recipients';
import type { Schedule } from './schedule';
import type { Scheduler } from './scheduler';
import { previousSlot, reminderAt, scheduleKey } from './slots';

/**
 * What is planned, and when: reminders follow domiciliation changes, slots and reminders follow a
 * change of the org's zone or send days, and a message staff send from a file is written now.
 */
export class Planning implements SettingsHooks {
  constructor(
    private readonly deps: {
      settings: SettingsRepo;
      schedule: Schedule;
      recipients: Recipients;
      scheduler: Scheduler;
      ledger: DeliveryLedger;
      clock: Clock;
    },
  ) {}

  /**
   * Plans or cancels reminders from domiciliation changes that were newer than what was known. The
   * reminder is at 19:00 in the zone of the org's settings, else in the org's own zone, which the
   * event carries (events published before it did fall back to Paris; the first save replans them).
   */
  async onDomiciliationChanged(events: Envelope<'domiciliation.changed'>[]): Promise<void> {
    const { recipients, settings, schedule, ledger, clock } = this.deps;
    const applied = await recipients.applyDomiciliations(events);
    const orgZones = new Map(events.flatMap((e) => (e.data.timeZone ? [[e.orgId, e.data.timeZone] as const] : [])));
    const now = clock.now();
    for (const v of applied) {
      if (v.status === 'active' && v.endDate) {
        const zone = (await settings.get(v.orgId))?.timeZone ?? orgZones.get(v.orgId) ?? DEFAULT_TIME_ZONE;
        await ledger.cancelReminders(v.orgId, v.personId, 'the end date changed', now);
        await schedule.planReminder({ orgId: v.orgId, personId: v.personId, endDate: v.endDate, dueAt: reminderAt(v.endDate, zone) });
      } else {
        await schedule.cancelReminders(v.orgId, v.personId);
        await ledger.cancelReminders(v.orgId, v.personId, `the domiciliation is ${v.status}`, now);
      }
    }
  }

  /**
   * Before a save that changes the zone or the send days: the org's next slot becomes the new
   * schedule's first after now (none of it between the last slot sent and the change).
   */
  async beforeSave(current: OrgSettings, next: OrgSettings, now: Date): Promise<void> {
    const key = scheduleKey(next.sendDays, next.timeZone);
    if (key !== scheduleKey(current.sendDays, current.timeZone)) await this.deps.schedule.replanSlots(next.orgId, now, key);
  }

  /**
   * After a save. SMS switched on: the slots while they were off are not caught up, the first slot
   * is the next one. The org's first save, or a change of zone: every scheduled reminder gets 19:00
   * in the saved zone (those planned before the first save may have used a fallback).
   */
  async afterSave(current: OrgSettings, next: OrgSettings, now: Date): Promise<void> {
    const { schedule } = this.deps;
    if (next.smsEnabled && !current.smsEnabled) await schedule.setLastSlot(next.orgId, previousSlot(now, next.sendDays, next.timeZone));
    if (current.version === 0 || next.timeZone !== current.timeZone) {
      await schedule.replanReminders(next.orgId, (endDate) => reminderAt(endDate, next.timeZone));
    }
  }

  /**
   * A message a staff member sends from a file: its delivery, built from the org's settings (which
   * may refuse it), sent now. The same request again (an answer lost) answers the first's delivery,
   * sent once, whatever changed since.
   */
  async sendContact(orgId: string, ref: string, zone: string, build: (org: OrgSettings) => DeliveryDoc): Promise<{ deliveryId: string }> {
    const deliveryId = contactDeliveryId(orgId, ref);
    if (!(await this.deps.ledger.exists(deliveryId))) await this.deps.scheduler.sendNow(build(await this.deps.settings.orDefault(orgId, zone)));
    return { deliveryId };
  }
}
