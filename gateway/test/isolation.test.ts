import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { eventually } from '@relais/testing';
import {
  RawClient,
  checkReply,
  createFixture,
  day,
  operationsOf,
  validRequest,
  type Fixture,
  type FuzzOperation,
  type FuzzRequest,
  type OpenApiDoc,
  type RawReply,
} from './support/fuzz';
import { PLATFORM_TOKEN, startTestStack, type TestStack } from './support';

// Each operation is called with a few valid bodies (the generator's seeds 1..VARIANTS).
const VARIANTS = 3;

/**
 * Org A has one of everything; org B, with valid tokens of its own, names A's ids in every operation that takes
 * an id. Another org's id must look exactly like an id that does not exist (404), and A's data stays as it was.
 */
describe("tenant isolation: another org's ids are unknown ids", function () {
  this.timeout(180_000);
  let stack: TestStack;
  let client: RawClient;
  let fx: Fixture;
  /** The generator's fixture narrowed to the one resource of each kind below, so every request names it. */
  let victim: Fixture;
  /** The same with ids that exist nowhere. */
  let unknown: Fixture;
  let ops: FuzzOperation[];
  let idOps: FuzzOperation[];
  let agentToken: string;
  let bCaseworker: string;
  let initial: Map<string, string>;

  const send = (req: FuzzRequest, token: string) => client.send({ ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } });
  const json = (method: string, path: string, token: string, body?: unknown) => client.json(method, path, token, body);
  const ok = (reply: RawReply, status: number, what: string): unknown => {
    expect(reply.status, `${what}: ${reply.text}`).to.equal(status);
    return reply.json;
  };
  const aIds = () => [
    fx.orgId,
    ...victim.mailPeople,
    ...victim.mailItems,
    ...Object.values(victim.channels),
    ...Object.values(victim.notes),
    ...Object.values(victim.attachments),
    ...Object.values(victim.checks),
    ...fx.users,
    ...victim.revocableTokens,
  ];

  /** Everything org A's admin can read about its resources, by request. */
  async function snapshot(): Promise<Map<string, string>> {
    const reads = ops.filter((op) => op.method === 'get' && op.security === 'bearer');
    const out = new Map<string, string>();
    for (const op of reads) {
      const req = validRequest(op, victim, 1, fx.tokens.admin);
      const reply = await send(req, fx.tokens.admin);
      // A token's last use moves with every request, this snapshot's own (A agent's /v1/me) included.
      out.set(`${req.method} ${req.path}`, `${reply.status} ${reply.text.replace(/"lastUsedAt":("[^"]*"|null)/g, '"lastUsedAt":-')}`);
    }
    const me = await json('GET', '/v1/me', agentToken);
    out.set("GET /v1/me (A agent's token)", `${me.status} ${me.text}`);
    return out;
  }

  before(async function () {
    this.timeout(180_000);
    stack = await startTestStack({ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' });
    client = new RawClient(stack.gw.url, 4);
    await eventually(async () => (await client.json('GET', '/readyz', null)).status === 200, { what: 'readyz 200' });
    ops = operationsOf((await client.json('GET', '/openapi.json', null)).json as OpenApiDoc);
    fx = await createFixture(client, PLATFORM_TOKEN, randomUUID().slice(0, 8));

    // Org A: a domiciled person with SMS consent, pending and handed-over mail, a user with a token, settings, a template.
    const admin = fx.tokens.admin;
    const personId = fx.mailPeople[0];
    ok(await json('PUT', `/v1/people/${personId}/sms-consent`, admin, { consent: true, phone: '06 12 34 56 78' }), 200, 'consent');
    const handed = (
      ok(await json('POST', `/v1/people/${personId}/mail`, admin, { kind: 'parcel', quantity: 2, sender: 'La Poste' }), 201, 'mail') as { id: string }
    ).id;
    ok(await json('POST', `/v1/people/${personId}/mail/hand-over`, admin, { mailItemIds: [handed], to: 'proxy', proxyName: 'Marie Curie' }), 200, 'hand-over');
    const userId = fx.mutableUsers[0];
    const token = ok(await json('POST', `/v1/users/${userId}/tokens`, admin, { label: 'A agent' }), 201, 'token') as { id: string; token: string };
    agentToken = token.token;
    ok(await json('PUT', '/v1/notifications/settings', admin, { smsEnabled: false, senderId: 'CCAS', signature: 'CCAS A', sendDays: [1] }), 200, 'settings');
    ok(await json('PUT', '/v1/notifications/templates/mail.letter', admin, { source: 'Bonjour, {{count}} courrier(s). {{signature}}' }), 200, 'template');
    // Notifications counts the mail from events: wait until it has, so the snapshot does not move by itself.
    await eventually(
      async () => {
        const counts = (await json('GET', `/v1/people/${personId}/pending-mail`, admin)).json as { counts?: { letter?: number } } | undefined;
        return counts?.counts?.letter === 1;
      },
      { what: "notifications counted A's pending letter" },
    );

    const one = <T>(x: T) => [x];
    victim = {
      ...fx,
      mailPeople: one(personId),
      churnPeople: one(personId),
      mailItems: [fx.mailItems[0], handed],
      channels: { [personId]: fx.channels[personId] ?? Object.values(fx.channels)[0] },
      notes: { [personId]: fx.notes[personId] },
      attachments: { [personId]: fx.attachments[personId] },
      checks: { [personId]: fx.checks[personId] },
      phones: { [personId]: fx.phones[personId] ?? Object.values(fx.phones)[0] },
      companies: one(fx.companies[0]),
      requests: one(fx.requests[0]),
      exchanges: { [fx.requests[0]]: fx.exchanges[fx.requests[0]] },
      drafts: one(fx.drafts[0]),
      accesses: one(fx.accesses[0]),
      notices: one(fx.notices[0]),
      users: one(userId),
      mutableUsers: one(userId),
      revocableTokens: one(token.id),
    };
    const fresh = () => [randomUUID()];
    // Shaped like the victim (one person, its resources keyed by it): a hint that finds no resource of the person
    // in the path draws one at random, which would shift every later draw and make the two requests differ.
    const nobody = randomUUID();
    const ofNobody = () => ({ [nobody]: randomUUID() });
    const nobodysRequest = randomUUID();
    unknown = {
      ...victim,
      mailPeople: [nobody],
      churnPeople: [nobody],
      mailItems: fresh(),
      channels: ofNobody(),
      notes: ofNobody(),
      attachments: ofNobody(),
      checks: ofNobody(),
      phones: ofNobody(),
      companies: fresh(),
      requests: [nobodysRequest],
      exchanges: { [nobodysRequest]: randomUUID() },
      drafts: fresh(),
      accesses: fresh(),
      notices: fresh(),
      users: fresh(),
      mutableUsers: fresh(),
      revocableTokens: fresh(),
    };

    const bUser = ok(await json('POST', '/v1/users', fx.other.adminToken, { name: 'B caseworker', email: 'cw@b.test', role: 'caseworker' }), 201, 'B user') as {
      id: string;
    };
    bCaseworker = (ok(await json('POST', `/v1/users/${bUser.id}/tokens`, fx.other.adminToken, {}), 201, 'B token') as { token: string }).token;

    // Every operation with an id in its path; a uuid parameter this test has no id of A for fails here, not silently.
    idOps = ops.filter((op) => op.pathParams.some((p) => p.schema.format === 'uuid'));
    const known = new Set([
      'personId',
      'partyId',
      'debtorId',
      'companyId',
      'mailItemId',
      'channelId',
      'noteId',
      'attachmentId',
      'checkId',
      'userId',
      'tokenId',
      'requestId',
      'exchangeId',
      'draftId',
      'accessId',
      'noticeId',
    ]);
    const unmapped = idOps.flatMap((op) => op.pathParams.filter((p) => p.schema.format === 'uuid' && !known.has(p.name)).map((p) => `${op.route}: ${p.name}`));
    expect(unmapped, 'id parameters without an id of org A').to.deep.equal([]);
    initial = await snapshot();
  });

  after(async function () {
    this.timeout(60_000);
    client?.close();
    await stack?.close();
  });

  /** The requests of one operation: the generator's valid variants, plus hand-over naming A's mail items. */
  function requestsOf(op: FuzzOperation, fixture: Fixture, token: string): FuzzRequest[] {
    const reqs = Array.from({ length: VARIANTS }, (_, i) => validRequest(op, fixture, i + 1, token));
    if (op.operationId === 'mail.handOver') {
      const body = Buffer.from(JSON.stringify({ mailItemIds: fixture.mailItems }));
      reqs.push({ ...reqs[0], body, headers: { ...reqs[0].headers, 'content-type': 'application/json' } });
    }
    return reqs;
  }

  it("answers 404 to org B's admin on every operation naming one of A's ids", async () => {
    expect(idOps.length).to.be.greaterThan(15);
    const wrong: string[] = [];
    for (const op of idOps) {
      // A portal route takes a portal token: B's client contact's, naming A's ids.
      const token = op.security === 'portal' ? fx.other.portalToken : fx.other.adminToken;
      for (const req of requestsOf(op, victim, token)) {
        const reply = await send(req, token);
        const problem = checkReply(req, reply);
        if (reply.status !== 404 || problem)
          wrong.push(`${req.method} ${req.path} ${req.body?.toString() ?? ''} -> ${reply.status} ${reply.text.slice(0, 160)}`);
      }
    }
    expect(wrong.length, wrong.join('\n')).to.equal(0);
  });

  it("answers org B's caseworker on A's ids exactly as on ids that exist nowhere (403 or 404)", async () => {
    const wrong: string[] = [];
    for (const op of idOps) {
      const token = op.security === 'portal' ? fx.other.portalToken : bCaseworker;
      const theirs = requestsOf(op, victim, token);
      const nobodys = requestsOf(op, unknown, token);
      for (let i = 0; i < theirs.length; i++) {
        const reply = await send(theirs[i], token);
        const reference = await send(nobodys[i], token);
        const problem = checkReply(theirs[i], reply);
        if (reply.status !== reference.status || ![403, 404].includes(reply.status) || problem) {
          wrong.push(`${theirs[i].method} ${theirs[i].path} -> ${reply.status} (unknown id: ${reference.status}) ${reply.text.slice(0, 160)}`);
        }
      }
    }
    expect(wrong.length, wrong.join('\n')).to.equal(0);
  });

  it("shows org B none of A's ids in lists, searches and mail rounds", async () => {
    const wrong: string[] = [];
    const lists = ops.filter((op) => op.security === 'bearer' && op.method === 'get' && op.pathParams.length === 0);
    const person = (await json('GET', `/v1/people/${victim.mailPeople[0]}`, fx.tokens.admin)).json as { lastName: string };
    const searches = [`/v1/people?name=${encodeURIComponent(person.lastName)}`, `/v1/mail?date=${day(0)}`, `/v1/users`, `/v1/notifications/deliveries`];
    const replies = [
      ...(await Promise.all(
        lists
          .flatMap((op) => requestsOf(op, victim, fx.other.adminToken))
          .map(async (req) => ({ what: `${req.method} ${req.path}`, reply: await send(req, fx.other.adminToken) })),
      )),
      ...(await Promise.all(searches.map(async (path) => ({ what: `GET ${path}`, reply: await json('GET', path, fx.other.adminToken) })))),
    ];
    for (const { what, reply } of replies) {
      const leaked = aIds().filter((id) => reply.text.includes(id));
      if (leaked.length > 0) wrong.push(`${what} -> ${reply.status} shows ${leaked.join(', ')}`);
    }
    // A round of mail naming A's person: each item refused as an unknown person.
    const round = await json('POST', '/v1/mail/batch', fx.other.adminToken, { items: [{ personId: victim.mailPeople[0], kind: 'letter' }] });
    const results = (round.json as { results?: { outcome: string; problem?: { status: number } }[] } | undefined)?.results ?? [];
    if (round.status !== 200 || results[0]?.outcome !== 'refused' || results[0]?.problem?.status !== 404) {
      wrong.push(`POST /v1/mail/batch naming A's person -> ${round.status} ${round.text.slice(0, 200)}`);
    }
    expect(wrong.length, wrong.join('\n')).to.equal(0);
  });

  it("leaves org A's data as it was", async () => {
    const after = await snapshot();
    const changed = [...initial.keys()]
      .filter((k) => after.get(k) !== initial.get(k))
      .map((k) => `${k}\n  before: ${initial.get(k)}\n  after:  ${after.get(k)}`);
    expect(changed.length, changed.join('\n')).to.equal(0);
    // The snapshot read real data, not a row of 404s.
    expect([...initial.values()].filter((v) => v.startsWith('200 ')).length).to.be.greaterThan(15);
  });
});
