import type { ErrorRequestHandler, Response } from 'express';
import { toProblem, unavailable, type Problem, type PinoLogger } from '@relais/shared';

export const PROBLEM_TYPE = 'application/problem+json';

/** An error raised by the HTTP layer itself; toProblem maps its 4xx `status` and shows its message. */
export function httpError(status: number, message: string): Error & { status: number } {
  return Object.assign(new Error(message), { status });
}

export { unavailable };

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_S = 5;

export function sendProblem<P extends Problem>(res: Response, problem: P): void {
  if (problem.status === 401 && !res.get('WWW-Authenticate')) res.set('WWW-Authenticate', 'Bearer realm="relais"');
  if (problem.status === 503 && !res.get('Retry-After')) res.set('Retry-After', String(RETRY_AFTER_S));
  res.status(problem.status).type(PROBLEM_TYPE).send(JSON.stringify(problem));
}

const MONGO_UNREACHABLE = /^Mongo(Network|NetworkTimeout|ServerSelection|NotConnected)Error$/;

/**
 * Gives toProblem a readable message for errors of the HTTP stack (body-parser's own
 * messages are terse or quote the body) and turns database outages into 503.
 */
function describe(err: unknown): unknown {
  const e = err as { type?: unknown; status?: number; message?: string; name?: string; limit?: number };
  if (e && typeof e === 'object' && typeof e.type === 'string') {
    switch (e.type) {
      case 'entity.parse.failed': {
        // Node's JSON.parse message may quote the start of the body: keep only where it failed.
        const reason = (e.message ?? '').replace(/,?\s*"[\s\S]*" is not valid JSON$/, '').trim();
        return httpError(400, `The request body is not valid JSON${reason ? ` (${reason})` : ''}.`);
      }
      case 'entity.too.large':
        return httpError(413, `The request body is larger than the ${Math.floor((e.limit ?? 0) / 1024)} kB allowed.`);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return httpError(415, 'The request body must be JSON encoded in UTF-8.');
      case 'request.aborted':
      case 'request.size.invalid':
      case 'stream.encoding.set':
        return httpError(400, 'The request body could not be read completely.');
    }
  }
  if (e && typeof e.name === 'string' && MONGO_UNREACHABLE.test(e.name)) {
    return unavailable('The gateway database is unreachable.');
  }
  return err;
}

/** The single place where an error becomes a response: problem+json, never a stack trace. */
export function errorHandler(logger: PinoLogger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const problem = toProblem(describe(err));
    if (problem.status >= 500) {
      const e = err as { name?: string; message?: string; type?: string; code?: unknown };
      // Name, type and message only: err.data and stacks can hold personal data.
      const fields = { reqId: res.locals.requestId, route: res.locals.route, error: { name: e?.name, type: e?.type, code: e?.code, message: e?.message } };
      // 503/504 are an outage elsewhere, already visible in that service; a 500 is a bug here or there.
      if (problem.status === 500) logger.error(fields, 'request failed');
      else logger.warn(fields, 'request failed');
    }
    sendProblem(res, problem);
  };
}
