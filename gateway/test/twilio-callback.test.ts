import { expect } from 'chai';
import { validationError } from '@relais/shared';
import { TwilioSmsProvider } from '@relais/notifications/providers';
import { FakeTwilio, postSignedCallback } from '@relais/testing/twilio';
import { twilioCallbacks, type ProviderStatusReport } from '../src/callbacks/twilio';
import { expectProblem, startTestGateway, type TestGateway } from './support';

// Twilio reaches the gateway through its public URL; the test posts to the gateway's own address.
const PUBLIC = 'https://relais.example.org';
const DELIVERY = 'digest:7d1f0c1e-0000-4000-8000-000000000001:2026-11-03T18:00:00.000Z:courrier';

describe('Twilio status callbacks', function () {
  this.timeout(30_000);
  let fake: FakeTwilio;
  let provider: TwilioSmsProvider;
  let t: TestGateway;
  let reports: ProviderStatusReport[] = [];
  let onStatus: (r: ProviderStatusReport) => Promise<unknown> = (r) => Promise.resolve(reports.push(r));

  before(async () => {
    fake = await FakeTwilio.start();
    provider = new TwilioSmsProvider({ accountSid: fake.accountSid, authToken: fake.authToken, apiUrl: fake.url, publicBaseUrl: PUBLIC });
    t = await startTestGateway({ callbacks: twilioCallbacks({ authToken: fake.authToken, publicBaseUrl: `${PUBLIC}/`, onStatus: (r) => onStatus(r) }) });
  });
  beforeEach(() => {
    reports = [];
    onStatus = (r) => Promise.resolve(reports.push(r));
  });
  after(async () => {
    provider.close();
    await fake.close();
    await t?.close();
  });

  const sent = async () => (await provider.send({ deliveryId: DELIVERY, channel: 'sms', to: '+33612345678', from: 'CCAS', body: 'Bonjour' })).providerId;
  const asReply = (r: { status: number; headers: Headers; body: unknown }) => r;

  it('passes a validly signed callback on and answers 204', async () => {
    const sid = await sent();
    const reply = await fake.statusCallback(sid, 'delivered', { via: t.gw.url });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(204);
    expect(reports).to.deep.equal([{ deliveryId: DELIVERY, providerId: sid, status: 'delivered' }]);

    const failed = await fake.statusCallback(sid, 'undelivered', { via: t.gw.url, errorCode: 30003 });
    expect(failed.status).to.equal(204);
    expect(reports[1]).to.deep.equal({ deliveryId: DELIVERY, providerId: sid, status: 'undelivered', errorCode: '30003' });
  });

  it('accepts a replayed callback again (the service ignores statuses that do not move forward)', async () => {
    const sid = await sent();
    const first = await fake.statusCallback(sid, 'sent', { via: t.gw.url });
    const again = await first.replay();
    expect([first.status, again.status]).to.deep.equal([204, 204]);
    expect(reports).to.have.length(2);
    expect(reports[1]).to.deep.equal(reports[0]);
  });

  it('refuses a forged or a missing signature with 403', async () => {
    const sid = await sent();
    expectProblem(asReply(await fake.statusCallback(sid, 'delivered', { via: t.gw.url, signature: 'forged' })), 403);
    const unsigned = expectProblem(asReply(await fake.statusCallback(sid, 'delivered', { via: t.gw.url, signature: 'none' })), 403);
    expect(unsigned.detail).to.match(/missing/);
    expect(reports).to.have.length(0);
  });

  it('refuses a signature made for another URL or other parameters', async () => {
    const sid = await sent();
    const url = fake.message(sid)!.statusCallback!;
    // A genuine signature of another delivery's callback, replayed onto this one.
    const otherUrl = url.replace(encodeURIComponent(DELIVERY), 'someone-else');
    expectProblem(asReply(await fake.statusCallback(sid, 'delivered', { via: t.gw.url, signedUrl: otherUrl })), 403);
    // Signed as 'failed', posted as 'delivered'.
    const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: fake.accountSid };
    expectProblem(asReply(await postSignedCallback(fake.authToken, url, params, { via: t.gw.url, signedParams: { ...params, MessageStatus: 'failed' } })), 403);
    // Signed for the gateway's internal address rather than its public URL.
    const internal = `${t.gw.url}${new URL(url).pathname}${new URL(url).search}`;
    expectProblem(asReply(await postSignedCallback(fake.authToken, internal, params)), 403);
    expect(reports).to.have.length(0);
  });

  it('answers 422 to a signed callback without the fields it needs', async () => {
    const url = `${PUBLIC}/v1/callbacks/twilio/status?delivery=d1`;
    const missing = expectProblem(asReply(await postSignedCallback(fake.authToken, url, { MessageSid: `SM${'a'.repeat(32)}` }, { via: t.gw.url })), 422);
    expect(missing.errors).to.deep.include({ path: 'MessageStatus', message: 'is required' });
    const bad = expectProblem(asReply(await postSignedCallback(fake.authToken, url, { MessageSid: 'nope', MessageStatus: 'sent' }, { via: t.gw.url })), 422);
    expect(bad.errors?.[0]?.path).to.equal('MessageSid');
    expect(reports).to.have.length(0);
  });

  it('passes the service refusal on as problem+json', async () => {
    onStatus = () => Promise.reject(validationError('Unknown provider status "teleported"', [{ path: 'status', message: 'is not a known status' }]));
    const sid = await sent();
    const reply = expectProblem(asReply(await fake.statusCallback(sid, 'teleported', { via: t.gw.url })), 422);
    expect(reply.detail).to.include('teleported');
  });

  it('answers 415 to a body that is not a form and 405 to other methods', async () => {
    const path = '/v1/callbacks/twilio/status?delivery=d1';
    expectProblem(await t.api.post(path, { json: { MessageSid: 'x' } }), 415);
    const get = expectProblem(await t.api.get(path), 405);
    expect(get).to.be.an('object');
  });
});
