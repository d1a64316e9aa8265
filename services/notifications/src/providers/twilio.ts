import http from 'node:http';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { ProviderError, type Accepted, type OutgoingMessage, type Provider, type ProviderMessageState, type ProviderStatus } from './provider';

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

/**
 * The SDK's own HTTP client, with every Twilio URL rebased on `baseUrl` when one is given (a
 * local fake in tests and benchmarks, a recording proxy...). The SDK builds absolute
 * https://<product>[.<edge>.<region>].twilio.com URLs itself, next-page URLs included, and
 * every one goes through `request`, so this is the one place to rewrite them.
 */
export class TwilioHttpClient extends twilio.RequestClient {
  private readonly base?: URL;
  private readonly httpAgent: http.Agent;

  constructor(opts: { baseUrl?: string; timeoutMs: number; maxSockets: number }) {
    // keepAlive and the timeout (socket idle and whole request) go to the SDK's https agent.
    super({ timeout: opts.timeoutMs, keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets });
    this.base = opts.baseUrl ? new URL(opts.baseUrl.replace(/\/+$/, '')) : undefined;
    // The SDK sets only an https agent: an http:// base URL would use Node's global agent otherwise.
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, timeout: opts.timeoutMs });
    this.axios.defaults.httpAgent = this.httpAgent;
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request<TData>({ ...opts, uri: this.rebase(opts.uri) });
  }

  rebase(uri: string): string {
    if (!this.base) return uri;
    const u = new URL(uri);
    if (!TWILIO_HOST.test(u.hostname)) return uri;
    const prefix = this.base.pathname === '/' ? '' : this.base.pathname;
    return `${this.base.origin}${prefix}${u.pathname}${u.search}`;
  }

  close(): void {
    this.httpAgent.destroy();
    (this.axios.defaults.httpsAgent as http.Agent | undefined)?.destroy?.();
  }
}

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

const NETWORK_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

/**
 * Twilio's answer as a ProviderError. The SDK throws RestException (or TwilioServiceException for
 * RFC 9457 bodies) with the HTTP `status` and Twilio's numeric `code`; transport failures are
 * axios errors without a status. A timeout is transient but ambiguous (the message may have been
 * accepted), hence its own code 'timeout'.
 */
export function twilioError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { status?: unknown; code?: unknown; message?: string; isAxiosError?: boolean };
  const status = httpStatus(err);
  if (status !== undefined) {
    const code = e.code !== undefined && e.code !== null && e.code !== 0 ? String(e.code) : undefined;
    const message = `Twilio answered ${status}${code ? ` (error ${code})` : ''}: ${e.message ?? 'no message'}`;
    return new ProviderError(message, status === 408 || status === 429 || status >= 500, code ?? String(status));
  }
  if (e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT' || /timeout/i.test(e?.message ?? '')) {
    return new ProviderError(`Twilio did not answer in time: ${e?.message ?? ''}`.trim(), true, 'timeout');
  }
  if (e?.isAxiosError || (typeof e?.code === 'string' && NETWORK_CODES.has(e.code))) {
    return new ProviderError(`Twilio unreachable: ${e.message ?? e.code}`, true, typeof e.code === 'string' ? e.code : 'network');
  }
  // Anything else (the SDK refusing its arguments, a bug): not worth a retry storm, but visible.
  return new ProviderError(`Twilio call failed: ${e?.message ?? String(err)}`, false);
}
