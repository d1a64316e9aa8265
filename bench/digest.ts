// `npm run bench -- digest [persons=20000] [instances=1] [repeats=3] [limit=<segments/s>]`: one send
// slot of the notifications service — SMS to that many persons with pending mail, through the Twilio
// SDK to a local Twilio-compatible server — against a raw floor in the same run: bare delivery-row
// inserts and HTTP posts of the same messages to the same server. The floor's rows are Relais's own
// delivery rows (built by its pure domain functions) in a collection with Relais's indexes, so the
// ratio measures what Relais adds, not a different data model. The floor and Relais take turns
// `repeats` times, each on a fresh database, and each side's median is compared: on a shared 2-core
// machine one run of either varies by tens of percent. With limit=, the per-sender rate limit
// (SMS_RATE_LIMIT) is set and the run also says how close the send rate came to it.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import mongoose from 'mongoose';
import { chunks } from '@relais/shared';
import { FakeTwilio } from '@relais/testing/twilio';
import { DeliveryRows } from '../services/notifications/src/delivery/rows';
import type { DeliveryDoc } from '../services/notifications/src/delivery/status';
import { assignLots } from '../services/notifications/src/delivery/lot';
import { digestDeliveries, type Recipient } from '../services/notifications/src/planning/deliveries';
import type { PendingMailRow } from '../services/notifications/src/planning/pendingMail';
import { nextSlot, previousSlot } from '../services/notifications/src/planning/slots';
import { defaultSettings, type OrgSettings } from '../services/notifications/src/settings/settings';
import type { MailKind } from '@relais/shared';
import { TemplateBook } from '../services/notifications/src/settings/templateBook';
import type { ConsentDoc } from '../services/notifications/src/planning/recipients';
import type { ProgressDoc } from '../services/notifications/src/planning/schedule';
import { Children } from './lib/children';
import { cpuReport, cpuSnapshot } from './lib/cpu';
import { parseArgs, rate, sleep, whenAborted, type BenchContext } from './lib/context';

export const description = 'one SMS digest slot (N persons) through the Twilio SDK to a local Twilio, vs bare row inserts + HTTP posts';

const phone = (i: number) => `+3361${String(i).padStart(7, '0')}`;
const say = (msg: string) => process.stderr.write(`digest: ${msg}\n`);

// The notifications service's stored documents, as far as the bench seeds them.
type SettingsDoc = Omit<OrgSettings, 'orgId' | 'defaultWording'> & { _id: string };

interface FloorRun {
  ms: number;
  cpu: string;
}

interface RelaisRun {
  /** From the slot to the last message at the provider. */
  ms: number;
  /** From the slot to the last recorded outcome applied to the rows (not timed against the floor). */
  appliedMs: number;
  /** When each message reached the provider, oldest first. */
  times: number[];
  slotAt: number;
  unique: number;
  posted: number;
  cpu: string;
}

export async function run(args: string[], ctx: BenchContext): Promise<string[]> {
  const limitArg = args.find((a) => a.startsWith('limit='));
  const limit = limitArg ? Number(limitArg.slice('limit='.length)) : 0;
  if (!Number.isFinite(limit) || limit < 0) throw new Error(`limit must be a number of segments per second (got "${limitArg}")`);
  const { persons, instances, repeats } = parseArgs(
    args.filter((a) => a !== limitArg),
    { persons: 20_000, instances: 1, repeats: 3 },
  );
  say(`${persons} persons, ${instances} notification instance(s), ${repeats} runs each${limit ? `, rate limit ${limit} segments/s` : ''}`);

  const twilio = await FakeTwilio.start();
  const mongo = await MongoClient.connect(ctx.mongoUrl, { serverSelectionTimeoutMS: 5_000 });
  try {
    const floors: FloorRun[] = [];
    const runs: RelaisRun[] = [];
    for (let r = 0; r < repeats; r++) {
      floors.push(await floorRun(ctx, twilio, persons, `${ctx.prefix}_digest_floor${r}`));
      say(`floor, run ${r + 1}/${repeats}: ${rate(persons, floors[r].ms)} sms/s`);
      twilio.messages.length = 0;
      runs.push(await relaisRun(ctx, twilio, mongo, { persons, instances, limit, namespace: `${ctx.prefix}_relais${r}` }));
      say(`Relais, run ${r + 1}/${repeats}: ${rate(persons, runs[r].ms)} sms/s, rows caught up ${(runs[r].appliedMs / 1000).toFixed(1)} s after the slot`);
      twilio.messages.length = 0;
    }

    // The median run of each side (an odd count of runs: the middle one; else the slower of the two middle ones).
    const middle = <T extends { ms: number }>(xs: T[]) => [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)];
    const relais = middle(runs);
    const floor = middle(floors);
    const perS = (ms: number) => persons / (ms / 1000);
    const relaisRate = perS(relais.ms);
    const floorRate = perS(floor.ms);
    const byRun = runs.map((x, i) => `${perS(x.ms).toFixed(0)}/${perS(floors[i].ms).toFixed(0)}`).join(', ');
    const lines = [
      `digest: N=${persons} SMS, ${instances} instance(s), one segment each, ${repeats} runs of each side`,
      `  Relais (slot -> delivery rows -> lots -> Twilio SDK -> recorded)  ${rate(persons, relais.ms)} sms/s  (median, ${(relais.ms / 1000).toFixed(2)} s)`,
      `  floor (row inserts + HTTP posts)                                  ${rate(persons, floor.ms)} sms/s  (median, ${(floor.ms / 1000).toFixed(2)} s)`,
      `  Relais / floor, sms/s, run by run: ${byRun}`,
      `  distinct recipients reached, median run: ${relais.unique} of ${persons}; messages posted: ${relais.posted}`,
      `  outcomes applied to every delivery row ${runs.map((x) => (x.appliedMs / 1000).toFixed(1)).join(', ')} s after the slot (reads show them from the start)`,
      `  CPU, Relais, median run (% of one core): ${relais.cpu}`,
      `  CPU, floor, median run (% of one core): ${floor.cpu}`,
    ];
    if (limit > 0) {
      const fromSlot = (x: RelaisRun) => x.times.length / ((x.times[x.times.length - 1] - x.slotAt) / 1000);
      // The limiter alone: from the first message to the last, without the slot's reads and first writes before them.
      const sending = (x: RelaisRun) => (x.times.length - 1) / ((x.times[x.times.length - 1] - x.times[0]) / 1000);
      const off = (v: number) => `${((v / limit - 1) * 100).toFixed(1)}%`;
      lines.push(
        `  rate limit ${limit} segments/s, counted from the slot: ${runs.map((x) => `${fromSlot(x).toFixed(2)} (${off(fromSlot(x))})`).join(', ')}`,
        `  while sending (first to last message): ${runs.map((x) => `${sending(x).toFixed(2)} (${off(sending(x))}, first after ${((x.times[0] - x.slotAt) / 1000).toFixed(2)} s)`).join(', ')}`,
      );
    }
    lines.push(`RESULT digest ${relaisRate.toFixed(2)} sms/s ratio=${(relaisRate / floorRate).toFixed(2)}`);
    return lines;
  } finally {
    await mongo.close();
    await twilio.close();
  }
}

/**
 * The floor: the slot's delivery rows as Relais builds them, inserted in batches of 500, then posted
 * over keep-alive connections. Built before the clock starts, as Relais's pure work is not what is compared.
 */
async function floorRun(ctx: BenchContext, twilio: FakeTwilio, persons: number, dbName: string): Promise<FloorRun> {
  const conn = await mongoose.createConnection(ctx.mongoUrl, { dbName, serverSelectionTimeoutMS: 5_000 }).asPromise();
  try {
    await DeliveryRows.open(conn).init();
    const floorRows = slotRows(persons);
    const rows = conn.db!.collection<DeliveryDoc>('deliveries');
    const start = Date.now();
    const cpu = cpuSnapshot();
    for (const part of chunks(floorRows, 500)) await rows.insertMany(part, { ordered: false });
    await postAll(twilio, floorRows, 16, ctx.signal);
    const ms = Date.now() - start;
    const report = cpuReport(cpu, new Map());
    await conn.dropDatabase();
    return { ms, cpu: report };
  } finally {
    await conn.close();
  }
}

/**
 * Relais: the notifications service's own database, fresh, seeded with what its events would have
 * built, and its processes started with a clock that reaches the slot 20 s later. Timed from the
 * slot to the last message at the provider; then waits, untimed, for the rows to catch up, so that
 * the next run starts on an idle database.
 */
async function relaisRun(
  ctx: BenchContext,
  twilio: FakeTwilio,
  mongo: MongoClient,
  o: { persons: number; instances: number; limit: number; namespace: string },
): Promise<RelaisRun> {
  const { persons, namespace } = o;
  const orgId = randomUUID();
  const slot = nextSlot(new Date(Date.now() + 7 * 86_400_000), [2, 4], 'Europe/Paris');
  const registeredAt = new Date(slot.getTime() - 3600_000);
  const db = mongo.db(`${namespace}_notifications`);
  await db.collection<SettingsDoc>('org_settings').insertOne({
    _id: orgId,
    smsEnabled: true,
    senderId: 'CCAS',
    signature: 'CCAS',
    sendDays: [2, 4],
    timeZone: 'Europe/Paris',
    templates: {},
    version: 1,
    updatedAt: new Date(),
    updatedBy: 'bench',
  });
  await db
    .collection<ProgressDoc>('digest_progress')
    .insertOne({ _id: orgId, lastSlotAt: previousSlot(new Date(slot.getTime() - 1), [2, 4], 'Europe/Paris'), replannedAt: null, replannedFor: null });
  for (const part of chunks(
    Array.from({ length: persons }, (_, i) => i),
    1000,
  )) {
    const ids = part.map(() => randomUUID());
    await db.collection<PendingMailRow>('pending_mail').insertMany(
      part.map((_, j) => ({ _id: randomUUID(), orgId, personId: ids[j], kind: 'letter', quantity: 1, registeredAt, handedOverAt: null })),
      { ordered: false },
    );
    await db.collection<ConsentDoc>('recipient_consents').insertMany(
      part.map((i, j) => ({ _id: `${orgId}:${ids[j]}`, orgId, personId: ids[j], consent: true, phoneE164: phone(i), changedAt: new Date() })),
      { ordered: false },
    );
  }

  const startDelayMs = 20_000;
  const offsetMs = slot.getTime() - Date.now() - startDelayMs;
  const slotAt = Date.now() + startDelayMs;
  const children = new Children(namespace, ctx.signal);
  const guard = <T>(work: Promise<T>) => Promise.race([work, children.crashed, whenAborted(ctx.signal)]);
  try {
    for (let i = 0; i < o.instances; i++) {
      children.start(`notifications-${i}`, 'services/notifications/src/main.ts', {
        ...process.env,
        MONGO_URL: ctx.mongoUrl,
        NATS_URL: ctx.natsUrl,
        RELAIS_NAMESPACE: namespace,
        LOG_LEVEL: 'warn',
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: twilio.accountSid,
        TWILIO_AUTH_TOKEN: twilio.authToken,
        TWILIO_API_URL: twilio.url,
        PUBLIC_BASE_URL: 'http://127.0.0.1:9',
        CLOCK_OFFSET_MS: String(offsetMs),
        SCHEDULER_INTERVAL_MS: '500',
        SEND_INTERVAL_MS: '100',
        SMS_RATE_LIMIT: String(o.limit),
      });
    }
    await guard(sleep(Math.max(0, slotAt - Date.now()), ctx.signal));
    const cpu = cpuSnapshot();
    const deadline = Date.now() + 1_700_000;
    while (twilio.messages.length < persons) {
      if (Date.now() > deadline) throw new Error(`only ${twilio.messages.length} of ${persons} SMS after 28 minutes`);
      await guard(sleep(50, ctx.signal));
    }
    const ms = Date.now() - slotAt;
    const report = cpuReport(cpu, children.pids());
    const results = db.collection('lot_results');
    while ((await guard(results.countDocuments({}))) > 0) {
      if (Date.now() > deadline) throw new Error('the recorded outcomes were not applied to the delivery rows after 28 minutes');
      await guard(sleep(200, ctx.signal));
    }
    const appliedMs = Date.now() - slotAt;
    return {
      ms,
      appliedMs,
      times: twilio.messages.map((m) => m.dateCreated.getTime()).sort((a, b) => a - b),
      slotAt,
      unique: new Set(twilio.messages.map((m) => m.to)).size,
      posted: twilio.messages.length,
      cpu: report,
    };
  } finally {
    await children.stopAll();
    children.discardLogs();
    await db.dropDatabase();
  }
}

/** One slot's delivery rows for `persons` people with one letter each, as the scheduler builds and lots them. */
function slotRows(persons: number): DeliveryDoc[] {
  const orgId = randomUUID();
  const now = new Date();
  const slot = new Date(now.getTime() - 1_000);
  const org = { ...defaultSettings(orgId, 'Europe/Paris'), smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' };
  const templates = new TemplateBook();
  const counts = new Map<string, Map<MailKind, number>>();
  const recipients = new Map<string, Recipient>();
  for (let i = 0; i < persons; i++) {
    const personId = randomUUID();
    counts.set(personId, new Map([['letter', 1]]));
    recipients.set(personId, { consent: true, phoneE164: phone(i) });
  }
  const docs = digestDeliveries(orgId, slot, counts, recipients, {
    smsEnabled: true,
    senderId: org.senderId,
    signature: org.signature,
    render: (type, vars) => templates.render(org, type, vars),
    now,
    maxLatenessMs: 3600_000,
  });
  return assignLots(`digest:${orgId}:${slot.toISOString()}`, orgId, docs, 500, now, now).docs;
}

/** The floor's HTTP side: the Twilio Messages API called directly with each row's message, `concurrency` requests at a time. */
async function postAll(twilio: FakeTwilio, rows: readonly DeliveryDoc[], concurrency: number, signal: AbortSignal): Promise<void> {
  const n = rows.length;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${twilio.url}/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
  const auth = `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`;
  let next = 0;
  const post = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = new URLSearchParams({ To: rows[i].to!, From: rows[i].from!, Body: rows[i].content! }).toString();
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n && !signal.aborted) await post(next++);
    }),
  );
  agent.destroy();
}
