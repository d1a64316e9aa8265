import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { smsSize } from '@relais/notifications/sms';

/**
 * A local stand-in for Twilio's Messages API (2010-04-01), answering the official SDK as Twilio
 * does: form bodies, basic auth, Twilio-shaped JSON, errors with Twilio codes, paged lists. It
 * also plays Twilio's side of status callbacks, signed as Twilio signs them.
 */

export interface FakeMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  statusCallback?: string;
  numSegments: number;
  dateCreated: Date;
  /** Set at creation: the fake hands every message to the carrier at once. */
  dateSent: Date;
  errorCode: number | null;
}

/** Without a code, Twilio's API-level one: 20000 + status (20429, 20500, 20503). */
export type Failure = { status: number; code?: number; message?: string } | 'network';

export interface CallbackOptions {
  /** Posts here instead of the StatusCallback's origin (the gateway's address behind its public URL). */
  via?: string;
  /** 'forged': a well-formed signature with the wrong key; 'none': no X-Twilio-Signature header. */
  signature?: 'valid' | 'forged' | 'none';
  /** Signs this URL instead of the one posted to (a signature taken from another request). */
  signedUrl?: string;
  /** Signs these parameters instead of the ones posted. */
  signedParams?: Record<string, string>;
}

export interface CallbackReply {
  status: number;
  headers: Headers;
  /** Parsed when JSON, else the text. */
  body: unknown;
  /** Posts the very same request again (same URL, parameters and signature). */
  replay(): Promise<CallbackReply>;
}

const API = '/2010-04-01';
const ROUTE = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages(?:\/([^/]+))?\.json$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export class FakeTwilio {
  /** Every message accepted, in order. */
  readonly messages: FakeMessage[] = [];
  /** Requests answered (failures included). */
  requests = 0;
  /** TCP connections opened by clients (keep-alive keeps this low). */
  connections = 0;
  /** Added before every answer. */
  latencyMs = 0;
  private readonly bySid = new Map<string, FakeMessage>();
  private readonly byTo = new Map<string, FakeMessage[]>();
  private readonly failures: Failure[] = [];
  private readonly refusedRecipients = new Map<string, { code: number; message: string }>();
  private server!: http.Server;
  url = '';

  private constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {}

  static async start(opts: { accountSid?: string; authToken?: string; latencyMs?: number } = {}): Promise<FakeTwilio> {
    const fake = new FakeTwilio(opts.accountSid ?? `AC${randomBytes(16).toString('hex')}`, opts.authToken ?? randomBytes(16).toString('hex'));
    fake.latencyMs = opts.latencyMs ?? 0;
    fake.server = http.createServer((req, res) => void fake.handle(req, res));
    fake.server.keepAliveTimeout = 30_000;
    fake.server.on('connection', () => fake.connections++);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** The next `n` requests fail with this answer ('network': the connection is cut without one). */
  failNext(n: number, failure: Failure): void {
    for (let i = 0; i < n; i++) this.failures.push(failure);
  }

  /** Sends to `to` are refused as Twilio refuses them, e.g. 21614 (not a mobile) or 21610 (unsubscribed). */
  refuseRecipient(to: string, code: number, message = `Message cannot be sent to ${to}`): void {
    this.refusedRecipients.set(to, { code, message });
  }

  /** Clears failures, refusals and latency; keeps the messages. */
  reset(): void {
    this.failures.length = 0;
    this.refusedRecipients.clear();
    this.latencyMs = 0;
  }

  message(sid: string): FakeMessage | undefined {
    return this.bySid.get(sid);
  }

  /** Changes a message's status as the carrier would (fetch shows it); no callback is sent. */
  setStatus(sid: string, status: string, errorCode: number | null = null): FakeMessage {
    const m = this.bySid.get(sid);
    if (!m) throw new Error(`No message ${sid}`);
    m.status = status;
    m.errorCode = errorCode;
    return m;
  }

  /** Moves a message to `status` and posts the status callback Twilio would post to its StatusCallback URL. */
  async statusCallback(sid: string, status: string, opts: CallbackOptions & { errorCode?: number } = {}): Promise<CallbackReply> {
    const m = this.setStatus(sid, status, opts.errorCode ?? null);
    if (!m.statusCallback) throw new Error(`Message ${sid} has no StatusCallback`);
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      From: m.from,
      MessageSid: m.sid,
      MessageStatus: status,
      SmsSid: m.sid,
      SmsStatus: status,
      To: m.to,
      ...(opts.errorCode !== undefined ? { ErrorCode: String(opts.errorCode) } : {}),
    };
    return postSignedCallback(this.authToken, m.statusCallback, params, opts);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (res.destroyed) return;

    const failure = this.failures.shift();
    if (failure === 'network') return void req.socket.destroy();
    if (failure) return error(res, failure.status, failure.code ?? 20000 + failure.status, failure.message ?? `Simulated ${failure.status}`);

    const url = new URL(req.url ?? '/', 'http://fake');
    const route = ROUTE.exec(url.pathname);
    if (!route) return error(res, 404, 20404, 'The requested resource was not found');
    const [, account, sid] = route;
    if (!this.authorized(req.headers.authorization)) return error(res, 401, 20003, 'Authenticate');
    if (account !== this.accountSid) return error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);

    if (req.method === 'POST' && !sid) return this.create(res, new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    if (req.method === 'GET' && sid) {
      const m = this.bySid.get(sid);
      return m ? json(res, 200, this.resource(m)) : error(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    }
    if (req.method === 'GET') return this.list(res, url);
    return error(res, 405, 20004, 'Method not allowed');
  }

  private authorized(header: string | undefined): boolean {
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    return header === expected;
  }

  private create(res: http.ServerResponse, form: URLSearchParams): void {
    const to = form.get('To');
    const from = form.get('From');
    const body = form.get('Body');
    if (!to) return error(res, 400, 21604, "A 'To' phone number is required.");
    if (!from) return error(res, 400, 21603, "The 'From' phone number is required.");
    if (!body) return error(res, 400, 21602, 'Message body is required.');
    if (!E164.test(to)) return error(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    const refused = this.refusedRecipients.get(to);
    if (refused) return error(res, 400, refused.code, refused.message);

    const now = new Date();
    const m: FakeMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to,
      from,
      body,
      status: 'queued',
      statusCallback: form.get('StatusCallback') ?? undefined,
      numSegments: smsSize(body).segments,
      dateCreated: now,
      dateSent: now,
      errorCode: null,
    };
    this.messages.push(m);
    this.bySid.set(m.sid, m);
    let list = this.byTo.get(to);
    if (!list) this.byTo.set(to, (list = []));
    list.push(m);
    json(res, 201, this.resource(m));
  }

  /** Newest first, filtered by To, From and DateSent (>=, <=, =), paged with Page/PageSize/PageToken. */
  private list(res: http.ServerResponse, url: URL): void {
    const q = url.searchParams;
    const to = q.get('To');
    const from = q.get('From');
    const after = parseDate(q.get('DateSent>'));
    const before = parseDate(q.get('DateSent<'));
    const on = q.get('DateSent');
    let found = (to ? (this.byTo.get(to) ?? []) : this.messages).filter(
      (m) =>
        (!from || m.from === from) &&
        (!after || m.dateSent >= after) &&
        (!before || m.dateSent <= before) &&
        (!on || m.dateSent.toISOString().slice(0, 10) === on.slice(0, 10)),
    );
    found = found.slice().reverse();
    const pageSize = Math.min(Math.max(Number(q.get('PageSize') ?? 50) || 50, 1), 1000);
    const page = Math.max(Number(q.get('Page') ?? 0) || 0, 0);
    const start = page * pageSize;
    const items = found.slice(start, start + pageSize);
    const base = `${API}/Accounts/${this.accountSid}/Messages.json`;
    const pageUri = (p: number) => {
      const params = new URLSearchParams(q);
      params.set('PageSize', String(pageSize));
      params.set('Page', String(p));
      params.delete('PageToken');
      if (p > 0) params.set('PageToken', `PA${found[p * pageSize - 1]?.sid ?? ''}`);
      return `${base}?${params.toString()}`;
    };
    json(res, 200, {
      first_page_uri: pageUri(0),
      end: start + Math.max(items.length - 1, 0),
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      messages: items.map((m) => this.resource(m)),
      uri: pageUri(page),
      page_size: pageSize,
      start,
      next_page_uri: start + pageSize < found.length ? pageUri(page + 1) : null,
      page,
    });
  }

  private resource(m: FakeMessage) {
    const uri = `${API}/Accounts/${this.accountSid}/Messages/${m.sid}.json`;
    return {
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      body: m.body,
      date_created: rfc2822(m.dateCreated),
      date_sent: rfc2822(m.dateSent),
      date_updated: rfc2822(new Date()),
      direction: 'outbound-api',
      error_code: m.errorCode,
      error_message: null,
      from: m.from,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: String(m.numSegments),
      price: null,
      price_unit: 'EUR',
      sid: m.sid,
      status: m.status,
      subresource_uris: { media: `${API}/Accounts/${this.accountSid}/Messages/${m.sid}/Media.json` },
      to: m.to,
      uri,
    };
  }
}

/**
 * Posts form `params` to `url` (or to the same path on `via`) with an X-Twilio-Signature computed
 * by the SDK's own getExpectedTwilioSignature over the URL as given and the parameters.
 */
export async function postSignedCallback(authToken: string, url: string, params: Record<string, string>, opts: CallbackOptions = {}): Promise<CallbackReply> {
  const target = opts.via ? new URL(new URL(url).pathname + new URL(url).search, opts.via).toString() : url;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const mode = opts.signature ?? 'valid';
  if (mode !== 'none') {
    const key = mode === 'forged' ? `${authToken}-forged` : authToken;
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(key, opts.signedUrl ?? url, opts.signedParams ?? params);
  }
  const body = new URLSearchParams(params).toString();
  const post = async (): Promise<CallbackReply> => {
    const res = await fetch(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const json = /json/.test(res.headers.get('content-type') ?? '');
    return { status: res.status, headers: res.headers, body: json && text ? JSON.parse(text) : text, replay: post };
  };
  return post();
}

function json(res: http.ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function error(res: http.ServerResponse, status: number, code: number, message: string): void {
  json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Twilio's date format: "Tue, 03 Nov 2026 18:00:00 +0000" (the SDK parses exactly this). */
function rfc2822(d: Date): string {
  return `${WEEKDAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** "2026-11-03" or "2026-11-03T18:00:00Z"; Twilio compares to the second. */
function parseDate(value: string | null): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
