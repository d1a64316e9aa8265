import { expect } from 'chai';
import { ROLES } from '@relais/shared';
import { hashToken } from '../src/auth/tokens';
import { seedDemo } from '../src/demo';
import { startTestGateway, type TestGateway } from './support';

describe('demo seed', function () {
  this.timeout(30_000);
  let t: TestGateway;

  before(async function () {
    this.timeout(60_000);
    t = await startTestGateway();
  });

  after(async function () {
    this.timeout(60_000);
    await t?.close();
  });

  const live = async (token: string) => (await t.gw.store.principalFor(hashToken(token))) !== null;
  const tokensOf = (seed: Awaited<ReturnType<typeof seedDemo>>) => Object.fromEntries(seed.users.map((u) => [u.role, u.token]));

  it('creates the org with one user per role, each with a working token', async () => {
    const seed = await seedDemo(t.gw.store);
    expect(seed.users.map((u) => u.role)).to.deep.equal([...ROLES]);
    for (const u of seed.users) {
      expect(await live(u.token), u.role).to.equal(true);
      const me = await t.api.get('/v1/me', { token: u.token });
      expect(me.status).to.equal(200);
      expect(me.body.user).to.include({ role: u.role, email: `${u.role}@demo.relais.test` });
    }
  });

  it('keeps the tokens it is given back: a restart shows the same tokens', async () => {
    const first = await seedDemo(t.gw.store);
    const second = await seedDemo(t.gw.store, tokensOf(first));
    expect(second.orgId).to.equal(first.orgId);
    expect(tokensOf(second)).to.deep.equal(tokensOf(first));
    expect(second.users.every((u) => u.reused)).to.equal(true);
  });

  it('replaces tokens it is not given, or that are not the role user’s, and revokes the ones they replace', async () => {
    const first = await seedDemo(t.gw.store);
    const keep = tokensOf(first);
    // The manager's token offered as the agent's: not the agent's, so the agent gets a new one.
    const second = await seedDemo(t.gw.store, { admin: keep.admin, agent: keep.manager });
    const now = tokensOf(second);
    expect(now.admin).to.equal(keep.admin);
    for (const role of ['manager', 'caseworker', 'agent'] as const) {
      expect(now[role], role).to.not.equal(keep[role]);
      expect(await live(now[role]), `${role} new token`).to.equal(true);
      expect(await live(keep[role]), `${role} replaced token`).to.equal(false);
    }
    // One live demo token per user, whatever the number of seeds before.
    const listed = await t.api.get('/v1/tokens', { token: now.admin });
    expect(listed.status).to.equal(200);
    const perUser = new Map<string, number>();
    for (const token of listed.body.items as { userId: string }[]) perUser.set(token.userId, (perUser.get(token.userId) ?? 0) + 1);
    expect([...perUser.values()]).to.deep.equal([1, 1, 1, 1]);
  });
});
