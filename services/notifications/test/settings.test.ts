import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { connectDatabase, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, dropTestDatabases, startNode, testConfig, uniqueNamespace, type Parsed } from '@relais/testing';
import { DeliveryRows } from '../src/delivery/rows';
import { SettingsRepo } from '../src/settings/repo';
import { STATUS_RANK, type DeliveryDoc } from '../src/delivery/status';
import { defaultSettings } from '../src/settings/settings';
import { notificationsService } from '../src/service';
import { MemoryProvider, notificationsTestConfig } from '@relais/testing/notifications';

/** The org's SMS settings, templates and history views through the real database and the service's actions. */
describe('notifications: settings, templates and history views (real database)', function () {
  this.timeout(120_000);
  let config: BaseConfig;
  let db: Connection;
  let client: ServiceBroker;
  let node: ServiceBroker;

  const newOrg = (zone = 'Europe/Paris') => {
    const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    const call = <T = Parsed>(action: string, params: object = {}) =>
      client.call<T, object>(action, params, as(admin, { org: { region: 'FR', timeZone: zone } }));
    return { orgId: admin.orgId, call };
  };
  const byKind = (previews: { kind: string }[], kind: string) => previews.find((p) => p.kind === kind) as { kind: string; text: string; encoding: string };

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'notifications');
    client = await startNode(config, 'client');
    node = await startNode(config, 'notifications', [notificationsService(notificationsTestConfig(config), { smsProvider: new MemoryProvider() })]);
    await client.waitForServices(['notifications'], 20_000);
  });
  after(async () => {
    await Promise.all([client, node].map((b) => b?.stop()));
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('stores custom templates (whose kinds hold dots) and reads them back', async () => {
    const repo = SettingsRepo.open(db);
    const orgId = randomUUID();
    const templates = { 'mail.letter': 'Bonjour, {{count}} courrier(s) {{signature}}', 'domiciliation.reminder': 'Fin le {{endDate}} {{signature}}' };
    await repo.save({ ...defaultSettings(orgId, 'Europe/Paris'), templates, version: 1 });
    expect((await repo.get(orgId))?.templates).to.deep.equal(templates);
    await repo.save({ ...defaultSettings(orgId, 'Europe/Paris'), templates: {}, version: 2 });
    expect((await repo.get(orgId))?.templates).to.deep.equal({});
  });

  it('README: PUT a custom mail.letter template, read it back, preview it, reset it', async () => {
    const org = newOrg();
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const source = 'Bonjour, {{count}} {{plural count "courrier" "courriers"}} vous attend. {{signature}}';
    const saved = await org.call('notifications.setTemplate', { kind: 'mail.letter', source });
    expect(saved.templates.find((t: { kind: string }) => t.kind === 'mail.letter')).to.include({ source, isDefault: false });
    const read = await org.call('notifications.templates');
    expect(read.templates.find((t: { kind: string }) => t.kind === 'mail.letter')).to.include({ source, isDefault: false });
    expect(read.templates.find((t: { kind: string }) => t.kind === 'mail.parcel')).to.include({ isDefault: true });
    const { previews } = await org.call('notifications.preview');
    expect(byKind(previews, 'mail.letter')).to.include({ text: 'Bonjour, 2 courriers vous attend. CCAS', encoding: 'GSM-7' });
    const reset = await org.call('notifications.resetTemplate', { kind: 'mail.letter' });
    expect(reset.templates.find((t: { kind: string }) => t.kind === 'mail.letter')).to.include({ isDefault: true });
    expect(byKind((await org.call('notifications.preview')).previews, 'mail.letter').text).to.equal('Bonjour, Vous avez reçu 2 nouveaux courriers CCAS');
  });

  it('the preview names the characters that force UCS-2, with their position', async () => {
    const org = newOrg();
    const { previews } = await org.call('notifications.preview', { signature: 'CCAS de Nîmes' });
    // "Bonjour, Vous avez reçu 2 nouveaux courriers CCAS de Nîmes": ç is the 22nd character, î the 55th.
    expect(byKind(previews, 'mail.letter')).to.deep.include({
      encoding: 'UCS-2',
      ucs2Characters: [
        { character: 'ç', position: 22 },
        { character: 'î', position: 55 },
      ],
    });
    expect(byKind(previews, 'domiciliation.reminder')).to.deep.include({ ucs2Characters: [{ character: 'î', position: 114 }] });
    const ascii = await org.call('notifications.preview', { signature: 'CCAS', defaultWording: 'gsm7' });
    expect(byKind(ascii.previews, 'mail.letter')).to.deep.include({ encoding: 'GSM-7', ucs2Characters: [] });
  });

  it('the settings say what a segment holds in each encoding, and the GSM-7 wording of the default texts can be chosen', async () => {
    const org = newOrg();
    const before = await org.call('notifications.getSettings');
    expect(before.defaultWording).to.equal('standard');
    expect(before.segmentCosts).to.deep.equal({
      'GSM-7': { single: 160, multipart: 153, extensionCharacters: '\f^{}\\[~]|€', extensionCost: 2 },
      'UCS-2': { single: 70, multipart: 67 },
    });
    const saved = await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS', defaultWording: 'gsm7' });
    expect(saved.defaultWording).to.equal('gsm7');
    expect((await org.call('notifications.getSettings')).defaultWording).to.equal('gsm7');
    const { previews } = await org.call('notifications.preview');
    for (const p of previews) expect(p, p.kind).to.include({ encoding: 'GSM-7' });
    expect(byKind(previews, 'mail.letter').text).to.equal('Bonjour, Vous avez 2 nouveaux courriers CCAS');
    const { templates } = await org.call('notifications.templates');
    expect(templates.find((t: { kind: string }) => t.kind === 'mail.parcel')).to.include({ isDefault: true });
    expect(templates.find((t: { kind: string }) => t.kind === 'mail.parcel').source).to.match(/^Bonjour, Vous avez \{\{count\}\}/);
    // A preview may try the other wording before it is saved.
    expect(byKind((await org.call('notifications.preview', { defaultWording: 'standard' })).previews, 'mail.letter').encoding).to.equal('UCS-2');
  });

  it('a bad template gets a 422 that says what to fix, never a JavaScript error text', async () => {
    const org = newOrg();
    const problem = async (source: string) => {
      const err = await org.call('notifications.preview', { templates: { 'mail.letter': source } }).then(
        () => expect.fail(`${source} accepted`),
        (e) => e,
      );
      expect(err.code, source).to.equal(422);
      expect(err.data.errors[0].path).to.equal('templates.mail.letter');
      expect(err.message, source).to.not.match(/TypeError|Cannot |undefined|\[object Object\]|Expecting|lookupProperty/);
      return err.message as string;
    };
    expect(await problem('Bonjour {{count.total}}')).to.match(/\{\{count\.total\}\}|\{\{count\}\}/);
    expect(await problem('Bonjour {{signature.length}}')).to.match(/\{\{count\}\}, \{\{signature\}\}/);
    expect(await problem('Bonjour {{#if count}}x')).to.match(/\{\{\/if\}\}/);
    expect(await problem('Bonjour {{count')).to.match(/\}\}/);
    expect(await problem('Bonjour {{nom}}')).to.match(/\{\{nom\}\}.*\{\{count\}\}, \{\{signature\}\}/);
    expect(await problem('{{count}} {{plural count "courrier"}}')).to.match(/\{\{plural count "courrier" "courriers"\}\}/);
    const put = await org.call('notifications.setTemplate', { kind: 'mail.letter', source: '{{count "x"}}' }).catch((e) => e);
    expect(put.code).to.equal(422);
    expect(put.message).to.not.match(/TypeError|lookupProperty|is not a function/);
  });

  it('seed 001: the history gives each date in the org\'s zone, as ISO with offset and as "13/10/2021 à 19:00"', async () => {
    const paris = newOrg();
    const reunion = newOrg('Indian/Reunion');
    const person = randomUUID();
    const deliveries = DeliveryRows.open(db);
    const row = (orgId: string, dueAt: Date, sentAt: Date): DeliveryDoc => ({
      _id: `digest:${randomUUID()}`,
      orgId,
      personId: person,
      type: 'mail.letter',
      channel: 'sms',
      to: '+33612345678',
      from: 'CCAS',
      content: 'Bonjour, Vous avez reçu 1 nouveau courrier CCAS',
      encoding: 'UCS-2',
      segments: 1,
      status: 'queued',
      statusRank: STATUS_RANK.queued,
      events: [
        { status: 'pending', at: dueAt },
        { status: 'queued', at: sentAt },
      ],
      dueAt,
      lot: null,
      attempts: 1,
      retryAt: null,
      createdAt: dueAt,
      updatedAt: sentAt,
    });
    await deliveries.insertNew([
      row(paris.orgId, new Date('2021-10-13T17:00:00Z'), new Date('2021-10-13T17:00:03Z')),
      // Winter time in Paris: 19:00 is 18:00Z.
      row(paris.orgId, new Date('2021-11-16T18:00:00Z'), new Date('2021-11-16T18:00:02Z')),
      row(reunion.orgId, new Date('2021-10-13T15:00:00Z'), new Date('2021-10-13T15:00:01Z')),
    ]);

    const history = await paris.call('notifications.history', { personId: person });
    expect(history.timeZone).to.equal('Europe/Paris');
    expect(history.entries.map((e: Record<string, string>) => [e.date, e.localDate, e.dateLabel])).to.deep.equal([
      ['2021-11-16T18:00:00.000Z', '2021-11-16T19:00:00+01:00', '16/11/2021 à 19:00'],
      ['2021-10-13T17:00:00.000Z', '2021-10-13T19:00:00+02:00', '13/10/2021 à 19:00'],
    ]);
    expect(history.entries[1].events[1]).to.deep.equal({
      status: 'queued',
      at: '2021-10-13T17:00:03.000Z',
      localAt: '2021-10-13T19:00:03+02:00',
      atLabel: '13/10/2021 à 19:00',
    });

    // The zone of the org's settings wins over the request's; the ops list shows the same.
    const other = await paris.call('notifications.updateSettings', { timeZone: 'Indian/Reunion' });
    expect(other.timeZone).to.equal('Indian/Reunion');
    const [entry] = (await reunion.call('notifications.history', { personId: person })).entries;
    expect(entry).to.include({ localDate: '2021-10-13T19:00:00+04:00', dateLabel: '13/10/2021 à 19:00' });
    const ops = await paris.call('notifications.deliveries', { from: '2021-10-01T00:00:00Z' });
    expect(ops.timeZone).to.equal('Indian/Reunion');
    expect(ops.items.map((i: { dateLabel: string }) => i.dateLabel)).to.deep.equal(['16/11/2021 à 22:00', '13/10/2021 à 21:00']);
  });
});
