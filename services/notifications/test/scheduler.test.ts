import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, type BaseConfig } from '@relais/shared';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';
import { initStores, openStores, partsOptions, wireParts } from '../src/engine';
import type { Schedule } from '../src/planning/schedule';
import type { SettingsRepo } from '../src/settings/repo';
import { defaultSettings } from '../src/settings/settings';
import type { Scheduler } from '../src/planning/scheduler';
import { MemoryProvider, TestClock, notificationsTestConfig } from '@relais/testing/notifications';

/** When the scheduler's loop runs next: right at the next slot or reminder, not at its next poll. */
describe('notifications: scheduler timing (real database)', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let scheduler: Scheduler;
  let schedule: Schedule;
  let settings: SettingsRepo;
  // Monday 15 June 2026, 10:00 in Paris.
  const clock = new TestClock(new Date('2026-06-15T08:00:00Z'));

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'notifications');
    const stores = openStores(db, { DB_UPDATE_BATCH: 50, STUCK_AFTER_MS: 30_000 });
    await initStores(stores);
    ({ schedule, settings } = stores);
    const provider = new MemoryProvider();
    ({ scheduler } = wireParts(
      stores,
      { providers: { sms: provider, email: provider }, rate: null, clock, log: { warn: () => undefined } },
      {
        ...partsOptions(notificationsTestConfig(config), 'test'),
        scheduler: { owner: 'test', leaseMs: 60_000, maxLatenessMs: 3600_000, lotSize: 10 },
      },
    ));
  });

  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('names the time until the earliest org slot or reminder to come', async () => {
    expect(scheduler.msUntilNextDue()).to.equal(null); // before any pass
    await scheduler.runOnce();
    expect(scheduler.msUntilNextDue()).to.equal(null); // no org sends SMS, no reminder planned

    const paris = { ...defaultSettings(randomUUID(), 'Europe/Paris'), smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' };
    const reunion = { ...defaultSettings(randomUUID(), 'Indian/Reunion'), smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' };
    await settings.save(paris);
    await settings.save(reunion);
    await scheduler.runOnce();
    // Tuesday 19:00 in Réunion (UTC+4) comes two hours before Tuesday 19:00 in Paris (UTC+2).
    expect(scheduler.msUntilNextDue()).to.equal(Date.parse('2026-06-16T15:00:00Z') - clock.now().getTime());

    await schedule.planReminder({ orgId: paris.orgId, personId: randomUUID(), endDate: '2026-08-15', dueAt: new Date('2026-06-15T17:00:00Z') });
    await scheduler.runOnce();
    expect(scheduler.msUntilNextDue()).to.equal(Date.parse('2026-06-15T17:00:00Z') - clock.now().getTime());
    clock.set('2026-06-15T12:00:00Z');
    expect(scheduler.msUntilNextDue()).to.equal(5 * 3600_000); // counted on the clock, as time passes
  });
});
