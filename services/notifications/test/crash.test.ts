import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceBroker } from 'moleculer';
import { DurableEvents, connectDatabase, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, eventually, freePort, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { loadGatewayConfig, startGateway, twilioCallbacks, type RunningGateway } from '@relais/gateway';
import { nextSlot } from '../src/planning/slots';
import { FakeTwilio } from '@relais/testing/twilio';
import { publishPeopleWithMail, waitUntilApplied } from '@relais/testing/notifications';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const nodeBin = existsSync(path.join(root, 'node_modules/.bin/node')) ? path.join(root, 'node_modules/.bin/node') : process.execPath;

/**
 * Three notification processes send one slot through the real Twilio SDK to a local Twilio;
 * one is killed with SIGKILL mid-run. Every SMS goes out once: none lost, none twice. Status
 * callbacks then come back signed through the gateway.
 */
describe('notifications: three processes, one killed mid-slot', function () {
  this.timeout(240_000);
  const people = 200;
  let config: BaseConfig;
  let twilio: FakeTwilio;
  let gateway: RunningGateway;
  let client: ServiceBroker;
  let events: DurableEvents;
  const children: ChildProcess[] = [];
  // The service clock reaches the slot 45 s after the processes start (set in before()): time for
  // cold starts and for the events to be applied first.
  let slot: Date;
  let offsetMs: number;
  let realSlotAt: number;
  const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  const meta = { org: { region: 'FR', timeZone: 'Europe/Paris' } };

  const startInstance = (i: number) => {
    const child = spawn(nodeBin, ['--import', 'tsx', 'services/notifications/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        MONGO_URL: config.MONGO_URL,
        NATS_URL: config.NATS_URL,
        RELAIS_NAMESPACE: config.RELAIS_NAMESPACE,
        NODE_ID: `notif-${i}-${randomUUID().slice(0, 6)}`,
        // A test run killed outright takes its instances with it.
        RELAIS_PARENT_PID: String(process.pid),
        LOG_LEVEL: 'error',
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: twilio.accountSid,
        TWILIO_AUTH_TOKEN: twilio.authToken,
        TWILIO_API_URL: twilio.url,
        PUBLIC_BASE_URL: gateway.url,
        CLOCK_OFFSET_MS: String(offsetMs),
        SCHEDULER_INTERVAL_MS: '200',
        SEND_INTERVAL_MS: '100',
        SEND_BATCH: '10',
        SEND_CONCURRENCY: '2',
        STUCK_AFTER_MS: '3000',
        RETRY_BASE_MS: '500',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  };

  before(async () => {
    config = testConfig(uniqueNamespace());
    twilio = await FakeTwilio.start({ latencyMs: 15 });
    // Twilio signs the URL it was given, so the gateway's port is chosen first.
    const port = await freePort();
    const gwConfig = loadGatewayConfig({ ...process.env, ...stringify(config), GATEWAY_PORT: String(port), LOG_LEVEL: 'error' });
    let gw: RunningGateway | undefined;
    gateway = gw = await startGateway(gwConfig, [], {
      healthServices: [],
      callbacks: twilioCallbacks({
        authToken: twilio.authToken,
        publicBaseUrl: `http://127.0.0.1:${port}`,
        onStatus: (report) => gw!.broker.call('notifications.providerStatus', report, { meta: { system: true } }),
      }),
    });
    client = await startNode(config, 'client');
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    slot = nextSlot(new Date(Date.now() + 7 * 86_400_000), [2, 4], 'Europe/Paris');
    offsetMs = slot.getTime() - Date.now() - 45_000;
    realSlotAt = slot.getTime() - offsetMs;
    for (let i = 0; i < 3; i++) startInstance(i);
    await client.waitForServices(['notifications'], 60_000);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once('exit', r))));
    await events?.close();
    await client?.stop();
    await gateway?.stop();
    await twilio?.close();
  });

  it('sends every SMS of the slot exactly once although an instance dies, and records signed callbacks', async () => {
    const at = new Date(slot.getTime() - 20_000).toISOString();
    const phones = Array.from({ length: people }, (_, i) => `+3361${String(i).padStart(7, '0')}`);
    await publishPeopleWithMail(events, admin.orgId, phones, 'parcel', at);
    await waitUntilApplied(config, admin.orgId, people, 30_000);
    await client.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' }, as(admin, meta));
    if (Date.now() > realSlotAt - 2_000)
      throw new Error(`setup ended ${Date.now() - realSlotAt} ms after the slot: the machine is too slow for this test's margin`);

    await eventually(() => twilio.messages.length >= people / 3, { timeoutMs: 60_000, intervalMs: 20, what: 'a third sent' });
    children[0].kill('SIGKILL');
    await eventually(() => new Set(twilio.messages.map((m) => m.to)).size === people, { timeoutMs: 90_000, what: 'every person reached' }).catch(
      async (err) => {
        const diag = await connectDatabase(config, 'notifications');
        const rows = await diag
          .collection('deliveries')
          .find({ orgId: admin.orgId })
          .project({ status: 1, attempts: 1, retryAt: 1, attemptStartedAt: 1 })
          .toArray();
        const claims = await diag.collection('claims').countDocuments({});
        await diag.close();
        const byStatus = rows.reduce<Record<string, number>>(
          (acc, r) => ({
            ...acc,
            [`${r.status}/${r.attempts}/${r.retryAt ? 'retry' : '-'}`]: (acc[`${r.status}/${r.attempts}/${r.retryAt ? 'retry' : '-'}`] ?? 0) + 1,
          }),
          {},
        );
        throw new Error(
          `${(err as Error).message}; ${rows.length} rows by status/attempts: ${JSON.stringify(byStatus)}; claims ${claims}; messages ${twilio.messages.length}`,
        );
      },
    );
    await new Promise((r) => setTimeout(r, 5_000)); // the reconciler's window for a late duplicate
    const perPhone = new Map<string, number>();
    for (const m of twilio.messages) perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
    expect([...perPhone.entries()].filter(([, n]) => n > 1)).to.deep.equal([]);
    expect(twilio.messages).to.have.length(people);
    expect(twilio.messages[0].body).to.equal('Bonjour, Vous avez reçu 1 nouveau colis CCAS');
    expect(twilio.messages[0].from).to.equal('CCAS');
    const ops = await eventually(
      async () => {
        const o = await client.call<{ counts: Record<string, number> }, object>('notifications.deliveries', { limit: 1 }, as(admin));
        return o.counts.queued === people && o;
      },
      { timeoutMs: 30_000, what: 'every delivery recorded as queued' },
    );
    expect(ops.counts).to.deep.equal({ queued: people });

    // Brokers learn that the killed node is gone when its heartbeats stop; until then calls may go to it.
    await eventually(
      () => !gateway.broker.registry.getNodeList({ onlyAvailable: true, withServices: false }).some((n: { id: string }) => n.id.startsWith('notif-0-')),
      { timeoutMs: 60_000, what: 'the killed instance dropped from the registry' },
    );
    // Signed callbacks move the status forward; a late 'sent' after 'delivered' and a replay change nothing.
    const m = twilio.messages[0];
    expect((await twilio.statusCallback(m.sid, 'sent')).status).to.equal(204);
    const delivered = await twilio.statusCallback(m.sid, 'delivered');
    expect(delivered.status).to.equal(204);
    expect((await twilio.statusCallback(m.sid, 'sent')).status).to.equal(204);
    expect((await delivered.replay()).status).to.equal(204);
    expect((await twilio.statusCallback(m.sid, 'undelivered', { signature: 'forged' })).status).to.equal(403);
    const list = await client.call<{ items: { events: { status: string }[] }[] }, object>('notifications.deliveries', { status: 'delivered' }, as(admin));
    expect(list.items).to.have.length(1);
    expect(list.items[0].events.map((e) => e.status)).to.deep.equal(['pending', 'sending', 'queued', 'sent', 'delivered']);
  });
});

const stringify = (o: object) =>
  Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
