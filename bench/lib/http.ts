import http from 'node:http';
import { sleep } from './context';

export interface Reply {
  status: number;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** A JSON client over keep-alive connections: at most `sockets` requests travel at once. */
export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly base: URL,
    private readonly token: string | null,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  request(method: string, path: string, json?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const body = json === undefined ? undefined : JSON.stringify(json);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
            ...headers,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      // A stalled gateway must not hold the bench: the socket is dropped and the request fails.
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** p-quantile of sorted numbers. */
export function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Until the gateway's /readyz says the broker, the database and each of `services` answer, within
 * `timeoutMs`; closes the client.
 */
export async function waitReady(client: HttpClient, services: readonly string[], signal: AbortSignal, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  try {
    while (Date.now() < deadline) {
      const reply = await client.request('GET', '/readyz').catch((err: Error) => ({ status: 0, body: err.message }));
      const checks = (reply.body as { checks?: { broker?: unknown; database?: unknown; services?: Record<string, string> } } | null)?.checks;
      if (checks?.broker && checks.database && services.every((s) => checks.services?.[s] === 'ok')) return;
      last = checks ? JSON.stringify(checks) : String(reply.body);
      await sleep(500, signal);
    }
  } finally {
    client.close();
  }
  throw new Error(`the services were not ready after ${timeoutMs / 1000} s: ${last}`);
}
