import { sample } from 'openapi-sampler';
import { z } from 'zod';
import { forbidden, notFound, toProblem, unauthorized, validationError, type FieldProblem, type Problem } from '@relais/shared';
import { takesIdempotencyKey, type OperationDoc } from './http/operation';
import { PROBLEM_TYPE, httpError, unavailable } from './http/problems';

type Json = Record<string, unknown>;

/** The problem+json body of every error (shared `Problem`), as a schema for the document. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }) satisfies z.ZodType<FieldProblem>)
      .optional()
      .describe('One entry per invalid field (422)'),
  })
  .describe('RFC 9457 problem details') satisfies z.ZodType<Problem>;

const BODY_METHODS = new Set(['post', 'put', 'patch']);

/** The shared error responses, each with an example made by the error mapping every request goes through (toProblem). */
const errorResponses = {
  BadRequest: {
    description: 'Malformed request (e.g. the body is not valid JSON)',
    example: toProblem(httpError(400, 'The request body is not valid JSON (Unexpected end of JSON input).')),
  },
  Unauthorized: {
    description: 'Missing or invalid credentials',
    example: toProblem(unauthorized('Authentication is required: send Authorization: Bearer <token>.')),
  },
  Forbidden: {
    description: 'Your role does not allow this',
    example: toProblem(forbidden('This requires one of the roles admin, manager, caseworker; your role is agent.')),
  },
  InvalidInput: {
    description: 'Invalid input; `errors` lists each field',
    example: toProblem(
      validationError('Invalid input: lastName: cannot be empty; birthDate: must be a date (YYYY-MM-DD)', [
        { path: 'lastName', message: 'cannot be empty' },
        { path: 'birthDate', message: 'must be a date (YYYY-MM-DD)' },
      ]),
    ),
  },
  ClientError: {
    description: 'Other client error (not found, conflict, unsupported media type, ...)',
    example: toProblem(notFound('Person')),
  },
  ServerError: {
    description: 'The service is unavailable (503), timed out (504) or failed (500)',
    example: toProblem(unavailable('The message broker is unreachable; nothing was done. Retry shortly.')),
  },
} satisfies Record<string, { description: string; example: Problem }>;

// zod bounds every integer by the safe range, which a sampler would show as -9007199254740991.
const withoutSafeIntegerBounds = (value: Json): Json =>
  JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    (key === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (key === 'maximum' && v === Number.MAX_SAFE_INTEGER) ? undefined : v,
  ) as Json;

/**
 * Samples schemas of a document, their $refs resolved against it. Deterministic: a schema's own
 * `examples` (zod `.meta({ examples: [...] })`) come first, then const, enum, default, format.
 */
export function samplerOf(document: Json): (schema: Json) => unknown {
  const plain = withoutSafeIntegerBounds(document);
  return (schema) => sample(withoutSafeIntegerBounds(schema), { quiet: true }, plain);
}

/** Builds the OpenAPI 3.1 document from the operations: every schema comes from zod. */
export function buildOpenApi(ops: readonly OperationDoc[], info: { title: string; version: string; description?: string }): Json {
  const schemas: Json = {};
  // Media types whose example is sampled once every component schema is known.
  const toSample: Json[] = [];
  const toJson = (schema: z.ZodType, io: 'input' | 'output', owner: string): Json => {
    const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    delete js.$schema;
    const defs = (js.$defs ?? {}) as Record<string, Json>;
    delete js.$defs;
    // $defs refs are relative to the schema's root; inside the document they must point to components.
    const renames = new Map<string, string>();
    for (const name of Object.keys(defs)) renames.set(name, name.startsWith('__') ? `${owner}${name}` : name);
    const rewrite = (value: Json): Json =>
      JSON.parse(JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_m, name: string) => `"#/components/schemas/${renames.get(name) ?? name}"`)) as Json;
    for (const [name, def] of Object.entries(defs)) schemas[renames.get(name)!] = rewrite(def);
    return rewrite(js);
  };
  schemas.Problem = toJson(problemSchema, 'output', 'Problem');

  const paths: Record<string, Json> = {};
  const tags: string[] = [];
  const ids = new Set<string>();
  for (const op of ops) {
    // Two routes may call one action (e.g. a read by id and a read by path): operationIds must still be unique.
    let operationId = op.operationId;
    for (let n = 2; ids.has(operationId); n++) operationId = `${op.operationId}_${n}`;
    ids.add(operationId);
    if (!tags.includes(op.tag)) tags.push(op.tag);
    const oaPath = op.path.replace(/:(\w+)/g, '{$1}');
    const pathNames = [...op.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
    const input = op.input ? toJson(op.input, 'input', op.operationId) : { type: 'object', properties: {} };
    const properties = (input.properties ?? {}) as Record<string, Json>;
    const required = new Set((input.required ?? []) as string[]);

    const param = (name: string, where: 'path' | 'query') => {
      const { description, ...schema } = properties[name] ?? { type: 'string' };
      return {
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(description ? { description } : {}),
        schema,
      };
    };
    const parameters: Json[] = pathNames.map((n) => param(n, 'path'));
    let requestBody: Json | undefined;
    const others = Object.keys(properties).filter((k) => !pathNames.includes(k));
    if (BODY_METHODS.has(op.method)) {
      const bodyRequired = [...required].filter((k) => others.includes(k));
      const body: Json = {
        ...input,
        properties: Object.fromEntries(others.map((k) => [k, properties[k]])),
        ...(bodyRequired.length ? { required: bodyRequired } : {}),
      };
      if (!bodyRequired.length) delete body.required;
      if (op.multipart) {
        // The file part is bytes; its name and declared type come from the part's headers (filename, Content-Type).
        const file = op.multipart.file;
        const { description } = properties[file] ?? {};
        body.properties = { ...(body.properties as Json), [file]: { type: 'string', format: 'binary', ...(description ? { description } : {}) } };
        requestBody = { required: true, content: { 'multipart/form-data': { schema: body } } };
      } else if (others.length) {
        const media: Json = { schema: body };
        toSample.push(media);
        requestBody = { required: bodyRequired.length > 0, content: { 'application/json': media } };
      }
    } else {
      parameters.push(...others.map((n) => param(n, 'query')));
    }
    if (takesIdempotencyKey(op)) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'A key of yours (1-200 printable ASCII characters), kept 24 hours per org and route: a retry with the same key ' +
          'and the same request does nothing again and replays the first answer, with the header `Idempotent-Replayed: true`; ' +
          'the same key with another request is a 422; while the first request runs, a 409.',
        schema: { type: 'string', minLength: 1, maxLength: 200 },
      });
    }

    const status = String(op.status ?? 200);
    let success: Json = { description: 'Done; no content' };
    if (status !== '204') {
      const media: Json = { schema: op.output ? toJson(op.output, 'output', op.operationId) : {} };
      // Without an output schema (this document, the docs page) there is nothing to sample.
      if (op.output) toSample.push(media);
      success = { description: 'Success', content: { [op.produces ?? 'application/json']: media } };
      if (op.streamsBytes) {
        success.headers = {
          'Content-Disposition': {
            description: '`attachment; filename="..."; filename*=UTF-8\'\'...`: the file name (ASCII fallback, then exact)',
            schema: { type: 'string' },
          },
          'Content-Length': { description: 'The size of the file in bytes', schema: { type: 'integer' } },
        };
      }
    }
    const ref = (name: keyof typeof errorResponses) => ({ $ref: `#/components/responses/${name}` });
    const responses: Json = { [status]: success };
    if (BODY_METHODS.has(op.method)) responses['400'] = ref('BadRequest');
    if (op.security !== 'none') responses['401'] = ref('Unauthorized');
    if (op.roles && op.roles.length > 0) responses['403'] = ref('Forbidden');
    if (op.input && Object.keys(properties).length > 0) responses['422'] = ref('InvalidInput');
    responses['4XX'] = ref('ClientError');
    responses['5XX'] = ref('ServerError');

    const description = [op.description, op.roles?.length ? `Roles: ${op.roles.join(', ')}.` : undefined].filter(Boolean).join('\n\n');
    (paths[oaPath] ??= {})[op.method] = {
      operationId,
      summary: op.summary,
      ...(description ? { description } : {}),
      tags: [op.tag],
      ...(op.security === 'none'
        ? { security: [] }
        : op.security === 'platform'
          ? { security: [{ platformToken: [] }] }
          : op.security === 'portal'
            ? { security: [{ portalToken: [] }] }
            : {}),
      ...(op.roles ? { 'x-relais-roles': [...op.roles] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }

  const document: Json = {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    // Relative, so it is the origin this document was fetched from (the spec's default, stated for tools that need it).
    servers: [{ url: '/', description: 'This gateway: the origin serving this document' }],
    tags: tags.map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.entries(errorResponses).map(([name, { description, example }]) => [
          name,
          { description, content: { [PROBLEM_TYPE]: { schema: { $ref: '#/components/schemas/Problem' }, example } } },
        ]),
      ),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (rl_...) created by an org admin.' },
        platformToken: { type: 'http', scheme: 'bearer', description: 'The platform operator token (RELAIS_PLATFORM_TOKEN).' },
        portalToken: {
          type: 'http',
          scheme: 'bearer',
          description: "A client contact's portal token (rlp_...), from the portal link staff send them; it reaches /v1/portal/ routes only.",
        },
      },
    },
  };
  const sampleOf = samplerOf(document);
  for (const media of toSample) media.example = sampleOf(media.schema as Json);
  return document;
}
