import type { Request, RequestHandler, Router } from 'express';
import { parseInput, validationError, type FieldProblem } from '@relais/shared';
import { sendBytes } from './files';
import { takesIdempotencyKey, type BytesAnswer, type Operation, type Security } from './operation';
import type { IdempotencyKeys } from './idempotency';
import type { RouteRegistry } from './middleware';

const QUERY_METHODS = new Set(['get', 'delete']);
// Printable ASCII: the key is stored and compared by services, so no control characters.
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The params of the call: path parameters plus the query string (GET/DELETE) or the JSON body
 * (POST/PUT/PATCH). A field that repeats a path parameter is rejected rather than silently
 * overridden, so a body can never redirect a call to another resource.
 */
export function requestParams(req: Request, method: Operation['method']): Record<string, unknown> {
  const path = { ...req.params } as Record<string, unknown>;
  let rest: unknown;
  if (QUERY_METHODS.has(method)) {
    rest = req.query;
  } else {
    rest = req.body ?? {};
    if (!isPlainObject(rest)) {
      throw validationError('The request body must be a JSON object.', [{ path: '(body)', message: 'must be a JSON object' }]);
    }
  }
  const fields = { ...(rest as Record<string, unknown>) };
  const where = QUERY_METHODS.has(method) ? 'query string' : 'body';
  const collisions: FieldProblem[] = Object.keys(fields)
    .filter((key) => Object.hasOwn(path, key))
    .map((key) => ({ path: key, message: `is given by the URL path; leave it out of the ${where}` }));
  if (collisions.length > 0) {
    throw validationError(`Invalid input: ${collisions.map((c) => `${c.path} ${c.message}`).join('; ')}`, collisions);
  }
  return { ...fields, ...path };
}

export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    const message = 'must be 1 to 200 printable ASCII characters';
    throw validationError(`Invalid input: Idempotency-Key header ${message}`, [{ path: 'Idempotency-Key', message }]);
  }
  return key;
}

/** The bearer secret of the request (empty when none): idempotent answers are sealed with it. */
function bearerSecret(req: Request): string {
  return /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '')?.[1] ?? '';
}

/** Caught at start-up: a path parameter missing from the input schema would fail every request with "unknown field". */
function checkPathParams(op: Operation): void {
  for (const [, name] of op.path.matchAll(/:(\w+)/g)) {
    if (!(name in op.input.shape)) {
      throw new Error(`Route ${op.method.toUpperCase()} ${op.path}: path parameter ${name} is missing from its input schema`);
    }
  }
}

/**
 * What mounting any operation starts with: its path parameters checked against its input, its pattern
 * recorded (404/405), its input made strict, and a first handler that names the route for the logs.
 */
export function prepareOperation(registry: RouteRegistry, op: Operation) {
  checkPathParams(op);
  registry.add(op.method, op.path);
  const tagRoute: RequestHandler = (_req, res, next) => {
    res.locals.route = op.path;
    next();
  };
  // Only the top level can be made strict here; nested objects are strict when the route's schema says so.
  return { schema: op.input.strict(), tagRoute };
}

/** Mounts one operation: record its pattern, authenticate, validate, run (once per Idempotency-Key), answer. */
export function mountOperation(router: Router, registry: RouteRegistry, op: Operation, guards: Record<Security, RequestHandler>, keys: IdempotencyKeys): void {
  const { schema, tagRoute } = prepareOperation(registry, op);
  const status = op.status ?? 200;
  const idempotent = takesIdempotencyKey(op);
  router[op.method](op.path, tagRoute, guards[op.security], async (req, res) => {
    const raw = requestParams(req, op.method);
    const input = parseInput(schema, raw);
    const idempotencyKey = idempotent ? idempotencyKeyOf(req) : undefined;
    const principal = res.locals.principal;
    const portal = res.locals.portal;
    if (op.streamsBytes) {
      const answer = (await op.run({ raw, input }, { principal, portal, requestId: res.locals.requestId })) as BytesAnswer;
      return sendBytes(res, answer, status);
    }
    const run = async () => {
      const result = await op.run({ raw, input }, { principal, portal, idempotencyKey, requestId: res.locals.requestId });
      const body = status === 204 ? undefined : result;
      return { status: body === undefined && status === 200 ? 204 : status, body };
    };
    const answer = idempotencyKey
      ? await keys.once(
          {
            // A portal contact's keys are their own: another contact of the client cannot replay them.
            scope: principal?.auth.orgId ?? (portal ? `portal:${portal.portal.accessId}` : op.security),
            route: `${op.method.toUpperCase()} ${op.path}`,
            key: idempotencyKey,
            fields: raw,
            callerSecret: bearerSecret(req),
          },
          run,
        )
      : { ...(await run()), replayed: false };
    if (answer.replayed) res.set('Idempotent-Replayed', 'true');
    if (answer.body === undefined) res.status(answer.status).end();
    else res.status(answer.status).json(answer.body);
  });
}

/** Mounts a plain handler (health, docs) so that it counts for 405 detection and logging. */
export function mountPlain(router: Router, registry: RouteRegistry, method: 'get', path: string, handler: RequestHandler): void {
  registry.add(method, path);
  router[method](
    path,
    (_req, res, next) => {
      res.locals.route = path;
      next();
    },
    handler,
  );
}
