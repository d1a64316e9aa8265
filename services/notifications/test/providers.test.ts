import net from 'node:net';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '@relais/shared';
import { notificationsConfigSchema } from '../src/config';
import {
  LogProvider,
  ProviderError,
  SmtpEmailProvider,
  TwilioSmsProvider,
  maskEmail,
  maskPhone,
  providersConfig,
  providersFromConfig,
  redirectTo,
  withProvidersConfig,
  type OutgoingMessage,
} from '../src/sending/providers';
import { FakeSmtp } from '@relais/testing/smtp';
import { FakeTwilio } from '@relais/testing/twilio';

const PUBLIC = 'https://relais.example.org';

const sms = (over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  deliveryId: 'digest:7d1f0c1e-0000-4000-8000-000000000001:2026-11-03T18:00:00.000Z:courrier',
  channel: 'sms',
  to: '+33612345678',
  from: 'CCAS',
  body: 'Bonjour, Vous avez reçu 2 nouveaux courriers CCAS',
  ...over,
});

async function refusal(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

describe('providers', () => {
  describe('TwilioSmsProvider, through the twilio SDK, against a local Twilio', () => {
    let fake: FakeTwilio;
    let twilio: TwilioSmsProvider;

    before(async () => {
      fake = await FakeTwilio.start();
      twilio = new TwilioSmsProvider({
        accountSid: fake.accountSid,
        authToken: fake.authToken,
        apiUrl: fake.url,
        publicBaseUrl: `${PUBLIC}/`,
        timeoutMs: 2_000,
      });
    });
    afterEach(() => fake.reset());
    after(async () => {
      twilio.close();
      await fake.close();
    });

    it('sends with To, the sender id, Body and a StatusCallback naming the delivery', async () => {
      const message = sms();
      const accepted = await twilio.send(message);
      expect(accepted.providerId).to.match(/^SM[0-9a-f]{32}$/);
      expect(accepted.status).to.equal('queued');
      const recorded = fake.message(accepted.providerId)!;
      expect(recorded).to.include({ to: message.to, from: 'CCAS', body: message.body, numSegments: 1 });
      expect(recorded.statusCallback).to.equal(`${PUBLIC}/v1/callbacks/twilio/status?delivery=${encodeURIComponent(message.deliveryId)}`);
    });

    it('reuses its connection (keep-alive)', async () => {
      const before = fake.connections;
      for (let i = 0; i < 5; i++) await twilio.send(sms({ body: `keep-alive ${i}` }));
      expect(fake.connections - before).to.be.at.most(1);
    });

    it('fetches the status Twilio has, with its error code, and null for an unknown sid', async () => {
      const { providerId } = await twilio.send(sms());
      expect(await twilio.fetch(providerId)).to.deep.equal({ providerId, status: 'queued' });
      fake.setStatus(providerId, 'delivered');
      expect((await twilio.fetch(providerId))!.status).to.equal('delivered');
      fake.setStatus(providerId, 'undelivered', 30003);
      expect(await twilio.fetch(providerId)).to.deep.include({ providerId, status: 'undelivered', errorCode: '30003' });
      expect(await twilio.fetch(`SM${'0'.repeat(32)}`)).to.equal(null);
    });

    it('maps every Twilio status onto the tracked ones', async () => {
      const { providerId } = await twilio.send(sms());
      const expected = {
        accepted: 'queued',
        scheduled: 'queued',
        queued: 'queued',
        sending: 'sending',
        sent: 'sent',
        delivered: 'delivered',
        read: 'delivered',
        undelivered: 'undelivered',
        failed: 'failed',
        canceled: 'failed',
      };
      for (const [status, tracked] of Object.entries(expected)) {
        fake.setStatus(providerId, status);
        expect((await twilio.fetch(providerId))!.status, status).to.equal(tracked);
      }
    });

    it('finds a message by recipient and exact body since a date, across pages', async () => {
      const to = '+33698765432';
      const since = new Date(Date.now() - 1_000);
      const wanted = await twilio.send(sms({ to, body: 'Bonjour, Vous avez reçu 1 nouveau colis CCAS' }));
      // More than one page of newer messages to the same number: the match is on page 2.
      for (let i = 0; i < 120; i++) await twilio.send(sms({ to, body: `Autre message ${i}` }));
      const found = await twilio.findSent({ to, body: 'Bonjour, Vous avez reçu 1 nouveau colis CCAS', since });
      expect(found).to.deep.include({ providerId: wanted.providerId, status: 'queued' });
      expect(await twilio.findSent({ to, body: 'Bonjour, Vous avez reçu 1 nouveau colis', since })).to.equal(null);
      expect(await twilio.findSent({ to: '+33611111111', body: 'Bonjour, Vous avez reçu 1 nouveau colis CCAS', since })).to.equal(null);
      expect(await twilio.findSent({ to, body: 'Bonjour, Vous avez reçu 1 nouveau colis CCAS', since: new Date(Date.now() + 60_000) })).to.equal(null);
    });

    it('reports 429 and 5xx as transient, with the Twilio code', async () => {
      const accepted = fake.messages.length;
      fake.failNext(1, { status: 429, code: 20429, message: 'Too Many Requests' });
      const tooMany = await refusal(twilio.send(sms()));
      expect(tooMany).to.include({ transient: true, code: '20429' });
      fake.failNext(1, { status: 500, code: 20500, message: 'Internal Server Error' });
      expect(await refusal(twilio.send(sms()))).to.include({ transient: true, code: '20500' });
      fake.failNext(1, { status: 503 });
      expect(await refusal(twilio.send(sms()))).to.include({ transient: true });
      expect(fake.messages.length).to.equal(accepted);
    });

    it('reports an invalid, landline or unsubscribed number as permanent, with the Twilio code', async () => {
      expect(await refusal(twilio.send(sms({ to: '0612345678' })))).to.include({ transient: false, code: '21211' });
      fake.refuseRecipient('+33140000000', 21614, "'To' number is not a valid mobile number");
      expect(await refusal(twilio.send(sms({ to: '+33140000000' })))).to.include({ transient: false, code: '21614' });
      fake.refuseRecipient('+33699999999', 21610, 'Attempt to send to unsubscribed recipient');
      expect(await refusal(twilio.send(sms({ to: '+33699999999' })))).to.include({ transient: false, code: '21610' });
      fake.failNext(1, { status: 400, code: 21408, message: 'Permission to send an SMS has not been enabled for the region' });
      expect(await refusal(twilio.send(sms()))).to.include({ transient: false, code: '21408' });
    });

    it('reports a cut connection and a timeout as transient', async () => {
      fake.failNext(1, 'network');
      expect(await refusal(twilio.send(sms()))).to.include({ transient: true });

      const quick = new TwilioSmsProvider({ accountSid: fake.accountSid, authToken: fake.authToken, apiUrl: fake.url, publicBaseUrl: PUBLIC, timeoutMs: 150 });
      try {
        fake.latencyMs = 600;
        const started = Date.now();
        expect(await refusal(quick.send(sms()))).to.include({ transient: true, code: 'timeout' });
        expect(Date.now() - started).to.be.below(550);
      } finally {
        quick.close();
      }
    });

    it('reports wrong credentials as permanent (20003)', async () => {
      const wrong = new TwilioSmsProvider({ accountSid: fake.accountSid, authToken: 'not-the-auth-token', apiUrl: fake.url, publicBaseUrl: PUBLIC });
      try {
        expect(await refusal(wrong.send(sms()))).to.include({ transient: false, code: '20003' });
      } finally {
        wrong.close();
      }
    });

    it('reports an unreachable Twilio as transient', async () => {
      const down = new TwilioSmsProvider({
        accountSid: fake.accountSid,
        authToken: fake.authToken,
        apiUrl: `http://127.0.0.1:${await closedPort()}`,
        publicBaseUrl: PUBLIC,
      });
      try {
        expect(await refusal(down.send(sms()))).to.include({ transient: true, code: 'ECONNREFUSED' });
      } finally {
        down.close();
      }
    });
  });

  describe('SmtpEmailProvider, through nodemailer, against a local SMTP server', () => {
    let fake: FakeSmtp;
    let smtp: SmtpEmailProvider;
    const mail = (over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
      deliveryId: 'reminder:p1:2026-11-03',
      channel: 'email',
      to: 'lucas.pierre@example.org',
      from: 'CCAS <no-reply@ccas.example.org>',
      subject: 'Votre domiciliation',
      body: 'Bonjour, votre domiciliation arrive à échéance le 3 janvier 2027.',
      ...over,
    });

    before(async () => {
      fake = await FakeSmtp.start();
      smtp = new SmtpEmailProvider({ url: fake.url, from: 'no-reply@relais.example.org', timeoutMs: 5_000 });
    });
    after(async () => {
      smtp.close();
      await fake.close();
    });

    it('sends and returns the Message-ID as the provider id', async () => {
      const accepted = await smtp.send(mail());
      expect(accepted.status).to.equal('sent');
      expect(accepted.providerId).to.match(/^<.+@.+>$/);
      const received = fake.received.at(-1)!;
      expect(received.to).to.deep.equal(['lucas.pierre@example.org']);
      expect(received.from).to.equal('no-reply@ccas.example.org');
      expect(received.parsed.messageId).to.equal(accepted.providerId);
      expect(received.parsed.subject).to.equal('Votre domiciliation');
      expect(received.parsed.text?.trim()).to.equal(mail().body);
      expect(received.parsed.headers.get('x-relais-delivery')).to.equal('reminder:p1:2026-11-03');
    });

    it('reports a 4xx reply as transient and a 5xx as permanent, with the reply code', async () => {
      fake.rejectNext(1, 451, { message: 'Try again later' });
      expect(await refusal(smtp.send(mail()))).to.include({ transient: true, code: '451' });
      fake.rejectNext(1, 550, { message: 'No such user' });
      expect(await refusal(smtp.send(mail()))).to.include({ transient: false, code: '550' });
      fake.rejectNext(1, 552, { message: 'Message refused', stage: 'data' });
      expect(await refusal(smtp.send(mail()))).to.include({ transient: false, code: '552' });
      fake.rejectNext(1, 452, { message: 'Mailbox full for now', stage: 'data' });
      expect(await refusal(smtp.send(mail()))).to.include({ transient: true, code: '452' });
      // The pool recovers: the next message goes through.
      const before = fake.received.length;
      await smtp.send(mail());
      expect(fake.received.length).to.equal(before + 1);
    });

    it('reports an unreachable server as transient', async () => {
      const down = new SmtpEmailProvider({ url: `smtp://127.0.0.1:${await closedPort()}`, timeoutMs: 2_000 });
      try {
        expect(await refusal(down.send(mail()))).to.include({ transient: true });
      } finally {
        down.close();
      }
    });
  });

  describe('LogProvider', () => {
    it('keeps the last messages and logs neither the number nor the text', async () => {
      const lines: string[] = [];
      const log = new LogProvider('sms', { capacity: 3, logger: { info: (fields, msg) => lines.push(JSON.stringify({ ...fields, msg })) } });
      for (let i = 0; i < 5; i++) await log.send(sms({ deliveryId: `d${i}`, body: `Bonjour ${i}` }));
      expect(log.messages.map((m) => m.deliveryId)).to.deep.equal(['d2', 'd3', 'd4']);
      expect(lines).to.have.length(5);
      expect(lines[0]).to.include('"delivery":"d0"').and.include('"channel":"sms"').and.include('"length":9');
      for (const line of lines) expect(line).to.not.include('612345678').and.not.include('Bonjour');
      const last = log.messages.at(-1)!;
      expect(await log.fetch(last.providerId)).to.deep.equal({ providerId: last.providerId, status: 'sent' });
      expect(await log.findSent({ to: last.to, body: 'Bonjour 4', since: new Date(0) })).to.deep.equal({ providerId: last.providerId, status: 'sent' });
    });
  });

  describe('redirectTo', () => {
    const quiet = { info: () => {} };

    it('masks numbers and addresses', () => {
      expect(maskPhone('+33612345678')).to.equal('+33 6 ** ** ** 78');
      expect(maskPhone('+262692010203')).to.equal('+262 6** ** ** 03');
      expect(maskEmail('lucas.pierre@example.org')).to.equal('l***@example.org');
    });

    it('sends every SMS to the sink, prefixed with the masked recipient, and finds it again', async () => {
      const inner = new LogProvider('sms', { logger: quiet });
      const redirected = redirectTo(inner, '+33700000000', {});
      const accepted = await redirected.send(sms());
      expect(inner.messages[0]).to.include({ to: '+33700000000', body: `[to +33 6 ** ** ** 78] ${sms().body}` });
      expect(redirected.name).to.equal('log+redirect');
      expect(await redirected.findSent!({ to: sms().to, body: sms().body, since: new Date(0) })).to.deep.equal({
        providerId: accepted.providerId,
        status: 'sent',
      });
    });

    it('redirects e-mail, subject included', async () => {
      const inner = new LogProvider('email', { logger: quiet });
      await redirectTo(inner, 'qa@relais.example.org', {}).send({
        deliveryId: 'd',
        channel: 'email',
        to: 'lucas.pierre@example.org',
        from: 'x@y.org',
        subject: 'Hello',
        body: 'Body',
      });
      expect(inner.messages[0]).to.include({ to: 'qa@relais.example.org', subject: '[to l***@example.org] Hello', body: '[to l***@example.org] Body' });
    });

    it('is refused in production', () => {
      expect(() => redirectTo(new LogProvider('sms', { logger: quiet }), '+33700000000', { NODE_ENV: 'production' })).to.throw(/production/);
    });
  });

  describe('provider settings', () => {
    const base = { NATS_URL: 'nats://127.0.0.1:4222', MONGO_URL: 'mongodb://127.0.0.1:27018' };
    const twilioEnv = { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: `AC${'a1'.repeat(16)}`, TWILIO_AUTH_TOKEN: 'f'.repeat(32), PUBLIC_BASE_URL: PUBLIC };
    const failure = (env: Record<string, string>) => {
      try {
        loadConfig(providersConfig, env);
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };

    it('defaults to the log providers', () => {
      const config = loadConfig(providersConfig, {});
      expect(config).to.include({ SMS_PROVIDER: 'log', EMAIL_PROVIDER: 'log', TWILIO_TIMEOUT_MS: 10_000 });
      const providers = providersFromConfig(config, { logger: { info: () => {} } });
      expect([providers.sms.name, providers.sms.channel, providers.email.name, providers.email.channel]).to.deep.equal(['log', 'sms', 'log', 'email']);
    });

    it('names each variable twilio or smtp needs', () => {
      const sms = failure({ SMS_PROVIDER: 'twilio' });
      for (const v of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'PUBLIC_BASE_URL']) expect(sms).to.include(`${v} is not set`);
      const email = failure({ EMAIL_PROVIDER: 'smtp', SMTP_URL: 'smtp://mail.example.org:587' });
      expect(email).to.include('EMAIL_FROM is not set').and.not.include('SMTP_URL');
      expect(failure({ ...twilioEnv, TWILIO_ACCOUNT_SID: 'SK123' })).to.include('TWILIO_ACCOUNT_SID is invalid: must be an account SID');
      expect(failure({ EMAIL_PROVIDER: 'smtp', SMTP_URL: 'mail.example.org', EMAIL_FROM: 'a@b.org' })).to.include('SMTP_URL is invalid');
      expect(failure({ SMS_PROVIDER: 'ovh' })).to.include('SMS_PROVIDER is invalid');
    });

    it('refuses the redirect switches in production', () => {
      const message = failure({ NODE_ENV: 'production', REDIRECT_ALL_TO_PHONE: '+33700000000', REDIRECT_ALL_TO_EMAIL: 'qa@example.org' });
      expect(message).to.include('REDIRECT_ALL_TO_PHONE is invalid: must not be set when NODE_ENV=production');
      expect(message).to.include('REDIRECT_ALL_TO_EMAIL is invalid: must not be set when NODE_ENV=production');
      expect(() => providersFromConfig({ ...loadConfig(providersConfig, { REDIRECT_ALL_TO_PHONE: '+33700000000' }), NODE_ENV: 'production' })).to.throw(
        ConfigError,
        /REDIRECT_ALL_TO_PHONE/,
      );
    });

    it('merges into the service config and builds Twilio, SMTP and the redirect from it', () => {
      const schema = withProvidersConfig(notificationsConfigSchema);
      const config = loadConfig(schema, {
        ...base,
        ...twilioEnv,
        TWILIO_API_URL: 'http://127.0.0.1:4010',
        EMAIL_PROVIDER: 'smtp',
        SMTP_URL: 'smtp://127.0.0.1:2525',
        EMAIL_FROM: 'no-reply@relais.example.org',
        REDIRECT_ALL_TO_PHONE: '+33700000000',
      });
      expect(config).to.include({ SEND_CONCURRENCY: 16, SMS_PROVIDER: 'twilio', TWILIO_API_URL: 'http://127.0.0.1:4010' });
      const providers = providersFromConfig(config);
      try {
        expect(providers.sms.name).to.equal('twilio+redirect');
        expect(providers.email.name).to.equal('smtp');
      } finally {
        providers.close();
      }
      expect(() => loadConfig(schema, { ...base, SMS_PROVIDER: 'twilio' })).to.throw(ConfigError, /TWILIO_AUTH_TOKEN is not set/);
    });
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
