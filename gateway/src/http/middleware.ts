import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { match } from 'path-to-regexp';
import type { PinoLogger } from '@relais/shared';
import { httpError } from './problems';

// Visible ASCII only, so a client's id is safe in logs and headers.
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** Keeps the client's X-Request-Id when it is sane, else makes one; echoed on the response. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('X-Request-Id');
  const id = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.set('X-Request-Id', id);
  next();
};

/** One line per request: method, route pattern (never the URL: it may hold personal data), status, duration. */
export function requestLog(logger: PinoLogger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('close', () => {
      const ms = Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10;
      const route: string | undefined = res.locals.route;
      // Probes hit health every few seconds: keep them out of the info stream.
      const level = route === '/healthz' || route === '/readyz' ? 'debug' : 'info';
      logger[level](
        {
          reqId: res.locals.requestId,
          method: req.method,
          route: route ?? '(unmatched)',
          status: res.statusCode,
          ms,
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
    next();
  };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * JSON in UTF-8 is the only body format of the API: anything else is a 415, not a confusing 422.
 * Another charset (UTF-16, which the JSON parser would decode) is refused rather than converted.
 */
export const jsonOnly: RequestHandler = (req, _res, next) => {
  const length = req.get('Content-Length');
  const hasBody = req.get('Transfer-Encoding') !== undefined || (length !== undefined && length !== '0');
  if (!BODY_METHODS.has(req.method) || !hasBody) return next();
  const sent = req.get('Content-Type');
  if (!req.is('application/json')) {
    return next(httpError(415, `Send the request body as JSON with Content-Type: application/json${sent ? ` (got ${sent.split(';')[0]})` : ''}.`));
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(sent ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    return next(httpError(415, `The request body must be JSON encoded in UTF-8 (got charset=${charset.slice(0, 40)}).`));
  }
  next();
};

/** The JSON parser's check of the raw body: invalid UTF-8 is refused, never replaced with U+FFFD. */
export function utf8Body(_req: unknown, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw httpError(400, 'The request body is not valid UTF-8.');
}

/** A URL whose percent-encoding is not UTF-8 would be decoded with U+FFFD in place of its bytes: refused. */
export const utf8Url: RequestHandler = (req, _res, next) => {
  try {
    decodeURIComponent(req.originalUrl);
  } catch {
    return next(httpError(400, 'The URL holds a percent-encoding that is not valid UTF-8.'));
  }
  next();
};

/** API answers carry personal data: no browser, proxy or CDN may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Every mounted (method, path), to tell "wrong method" (405 + Allow) from "no such resource" (404). */
export class RouteRegistry {
  private readonly routes: { method: string; path: string; matches: (path: string) => boolean }[] = [];

  add(method: string, path: string): void {
    const m = method.toUpperCase();
    if (this.routes.some((r) => r.method === m && r.path === path)) throw new Error(`Route ${m} ${path} is mounted twice`);
    const matcher = match(path, { decode: false });
    this.routes.push({ method: m, path, matches: (p) => matcher(p) !== false });
  }

  allowedMethods(path: string): string[] {
    const methods = new Set(this.routes.filter((r) => r.matches(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return METHOD_ORDER.filter((m) => methods.has(m));
  }

  /** Last middleware: the request matched no route. */
  fallback(): RequestHandler {
    return (req, res, next) => {
      const allowed = this.allowedMethods(req.path);
      if (allowed.length === 0) return next(httpError(404, `No route matches ${req.method} ${req.path}.`));
      res.set('Allow', allowed.join(', '));
      if (req.method === 'OPTIONS') return void res.status(204).end();
      next(httpError(405, `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}.`));
    };
  }
}
