import http from 'node:http';
import https from 'node:https';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type SdkResponse from 'twilio/lib/http/response';
import type { ProviderStatus } from '../../delivery/status';
import { ProviderError, type Accepted, type OutgoingMessage, type Provider, type ProviderMessageState } from './provider';

type TwilioMessage = Awaited<ReturnType<twilio.Twilio['messages']['create']>>;
interface MessagesPage {
  instances: TwilioMessage[];
  nextPage(): Promise<MessagesPage> | undefined;
}

/** Twilio's message statuses (Messages API and status callbacks) as the statuses Relais tracks. */
const STATUS: Record<string, ProviderStatus> = {
  accepted: 'queued',
  scheduled: 'queued',
  queued: 'queued',
  sending: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  partially_delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
};

/** An unknown status never moves a delivery forward: 'queued' is the lowest rank. */
export const twilioStatus = (status: string | null | undefined): ProviderStatus => STATUS[status ?? ''] ?? 'queued';

const TWILIO_HOST = /(^|\.)twilio\.com$/i;

/** A request that got no HTTP answer (refused, reset, timed out): `code` is Node's, or 'ETIMEDOUT'. */
export class TwilioTransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * The SDK's HTTP client (its documented custom-client extension point). The SDK builds the
 * request (URL, form, auth) and reads the answer (statuses, RestException); this class carries it
 * over keep-alive node:http(s) agents instead of the SDK's default axios stack, which costs about
 * twice the CPU per message. Every Twilio URL is rebased on `baseUrl` when one is given (a local
 * server in tests and benchmarks, a recording proxy...): the SDK builds absolute
 * https://<product>[.<edge>.<region>].twilio.com URLs itself, next-page URLs included, and every
 * one goes through `request`, so this is the one place to rewrite them.
 */
export class TwilioHttpClient extends twilio.RequestClient {
  private readonly base?: URL;
  private readonly timeoutMs: number;
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent };

  constructor(opts: { baseUrl?: string; timeoutMs: number; maxSockets: number }) {
    super({ timeout: opts.timeoutMs, keepAlive: true });
    this.base = opts.baseUrl ? new URL(opts.baseUrl.replace(/\/+$/, '')) : undefined;
    this.timeoutMs = opts.timeoutMs;
    const agent = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, timeout: opts.timeoutMs };
    this.agents = { 'http:': new http.Agent(agent), 'https:': new https.Agent(agent) };
  }

  override async request<TData>(req: RequestClient.RequestOptions<TData>): Promise<SdkResponse<TData>> {
    const url = new URL(this.rebase(req.uri));
    if (req.params) for (const [k, v] of formPairs(req.params)) url.searchParams.append(k, v);
    const headers: http.OutgoingHttpHeaders = { ...(req.headers as Record<string, string>), Connection: 'keep-alive' };
    if (req.username && req.password) headers.Authorization = `Basic ${Buffer.from(`${req.username}:${req.password}`).toString('base64')}`;
    else if (req.authStrategy) headers.Authorization = await req.authStrategy.getAuthString();
    let body: string | undefined;
    if (req.data) {
      body = /json/i.test(String(headers['Content-Type'] ?? '')) ? JSON.stringify(req.data) : new URLSearchParams(formPairs(req.data)).toString();
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    // The body stays a string: the SDK parses JSON answers itself.
    return (await send(
      url,
      { method: req.method.toUpperCase(), headers, agent: this.agents[url.protocol as 'http:' | 'https:'] },
      body,
      req.timeout ?? this.timeoutMs,
    )) as SdkResponse<TData>;
  }

  rebase(uri: string): string {
    if (!this.base) return uri;
    const u = new URL(uri);
    if (!TWILIO_HOST.test(u.hostname)) return uri;
    const prefix = this.base.pathname === '/' ? '' : this.base.pathname;
    return `${this.base.origin}${prefix}${u.pathname}${u.search}`;
  }

  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}

/** The SDK's params and form data as key/value pairs, a list repeating its key (Twilio's convention). */
function formPairs(data: object): [string, string][] {
  return Object.entries(data).flatMap(([k, v]): [string, string][] =>
    v === undefined || v === null ? [] : Array.isArray(v) ? v.map((x) => [k, String(x)]) : [[k, v instanceof Date ? v.toISOString() : String(v)]],
  );
}

function send(url: URL, options: http.RequestOptions, body: string | undefined, timeoutMs: number): Promise<SdkResponse<string>> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(transportError(err));
      });
    });
    // The whole exchange, connection included: an answer later than this is treated as none.
    const timer = setTimeout(() => {
      const err = new TwilioTransportError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT');
      reject(err);
      request.destroy(err);
    }, timeoutMs);
    request.on('error', (err) => {
      clearTimeout(timer);
      reject(transportError(err));
    });
    request.end(body);
  });
}

const transportError = (err: Error & { code?: string }) =>
  err instanceof TwilioTransportError ? err : new TwilioTransportError(err.message, err.code ?? 'network');

export interface TwilioSmsOptions {
  accountSid: string;
  authToken: string;
  /** Replaces https://api.twilio.com (and every other Twilio host), e.g. http://127.0.0.1:4010. */
  apiUrl?: string;
  /** The gateway's public URL: status callbacks go to <publicBaseUrl>/v1/callbacks/twilio/status. */
  publicBaseUrl?: string;
  /** Per request, connection included. */
  timeoutMs?: number;
  /** Concurrent connections to Twilio (the sender's concurrency is the useful value). */
  maxSockets?: number;
}

/** Path of the status callback route, under the gateway's /v1/callbacks. */
export const TWILIO_STATUS_PATH = '/v1/callbacks/twilio/status';

// Pages looked through by findSent: messages are listed newest first and filtered by recipient.
const FIND_PAGE_SIZE = 100;
const FIND_MAX_PAGES = 10;

/** SMS through Twilio's Messages API, with the official SDK. */
export class TwilioSmsProvider implements Provider {
  readonly name = 'twilio';
  readonly channel = 'sms' as const;
  private readonly http: TwilioHttpClient;
  private readonly client: twilio.Twilio;
  private readonly callbackBase?: string;

  constructor(opts: TwilioSmsOptions) {
    this.http = new TwilioHttpClient({ baseUrl: opts.apiUrl, timeoutMs: opts.timeoutMs ?? 10_000, maxSockets: opts.maxSockets ?? 32 });
    this.client = twilio(opts.accountSid, opts.authToken, {
      httpClient: this.http,
      // Retries belong to the sender (backoff, cap, attempts recorded on the delivery).
      autoRetry: false,
      // Never 'debug': the SDK would print recipients and bodies to stdout.
      logLevel: 'info',
    });
    this.callbackBase = opts.publicBaseUrl?.replace(/\/+$/, '');
    // The SDK loads its Messages API on first use (70 ms here): at start-up, not in a slot's first send.
    void this.client.messages;
  }

  /** The URL Twilio posts status changes to; the gateway verifies its signature over exactly this string. */
  statusCallbackUrl(deliveryId: string): string | undefined {
    return this.callbackBase && `${this.callbackBase}${TWILIO_STATUS_PATH}?delivery=${encodeURIComponent(deliveryId)}`;
  }

  async send(message: OutgoingMessage): Promise<Accepted> {
    if (message.channel !== 'sms') throw new ProviderError(`Twilio sends SMS, not ${message.channel}`, false);
    try {
      const sent = await this.client.messages.create({
        to: message.to,
        from: message.from,
        body: message.body,
        statusCallback: this.statusCallbackUrl(message.deliveryId),
      });
      return { providerId: sent.sid, status: twilioStatus(sent.status) };
    } catch (err) {
      throw twilioError(err);
    }
  }

  async fetch(providerId: string): Promise<ProviderMessageState | null> {
    try {
      return messageState(await this.client.messages(providerId).fetch());
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw twilioError(err);
    }
  }

  /**
   * Twilio filters on date_sent, which stays empty while a message is queued: a message still
   * in Twilio's queue is not found (the reconciler runs minutes after the call, by then it is sent).
   */
  async findSent(query: { to: string; body: string; since: Date }): Promise<ProviderMessageState | null> {
    try {
      let page: MessagesPage = await this.client.messages.page({ to: query.to, dateSentAfter: query.since, pageSize: FIND_PAGE_SIZE });
      for (let n = 1; ; n++) {
        const hit = page.instances.find((m) => m.body === query.body);
        if (hit) return messageState(hit);
        const next = n < FIND_MAX_PAGES ? page.nextPage() : undefined;
        if (!next) return null;
        page = await next;
      }
    } catch (err) {
      throw twilioError(err);
    }
  }

  close(): void {
    this.http.close();
  }
}

function messageState(m: TwilioMessage): ProviderMessageState {
  return {
    providerId: m.sid,
    status: twilioStatus(m.status),
    ...(m.errorCode != null ? { errorCode: String(m.errorCode) } : {}),
    ...(m.errorMessage ? { errorMessage: m.errorMessage } : {}),
  };
}

const httpStatus = (err: unknown): number | undefined => {
  const s = (err as { status?: unknown })?.status;
  return typeof s === 'number' ? s : undefined;
};

/**
 * Twilio's answer as a ProviderError. The SDK throws RestException (or TwilioServiceException for
 * RFC 9457 bodies) with the HTTP `status` and Twilio's numeric `code`; a request without an answer
 * is a TwilioTransportError. A timeout is transient but ambiguous (the message may have been
 * accepted), hence its own code 'timeout'.
 */
export function twilioError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { status?: unknown; code?: unknown; message?: string };
  const status = httpStatus(err);
  if (status !== undefined) {
    const code = typeof e.code === 'number' || typeof e.code === 'string' ? (e.code !== 0 && e.code !== '' ? String(e.code) : undefined) : undefined;
    const message = `Twilio answered ${status}${code ? ` (error ${code})` : ''}: ${e.message ?? 'no message'}`;
    return new ProviderError(message, status === 408 || status === 429 || status >= 500, code ?? String(status));
  }
  if (err instanceof TwilioTransportError) {
    if (err.code === 'ETIMEDOUT') return new ProviderError(`Twilio did not answer in time: ${err.message}`, true, 'timeout');
    return new ProviderError(`Twilio unreachable: ${err.message}`, true, err.code);
  }
  // Anything else (the SDK refusing its arguments, a bug): not worth a retry storm, but visible.
  return new ProviderError(`Twilio call failed: ${e?.message ?? String(err)}`, false);
}
