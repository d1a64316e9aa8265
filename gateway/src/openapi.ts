import { z } from 'zod';
import type { FieldProblem, Problem } from '@relais/shared';
import { takesIdempotencyKey, type OperationDoc } from './http/operation';
import { PROBLEM_TYPE } from './http/problems';

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

const errorResponses = {
  BadRequest: 'Malformed request (e.g. the body is not valid JSON)',
  Unauthorized: 'Missing or invalid credentials',
  Forbidden: 'Your role does not allow this',
  InvalidInput: 'Invalid input; `errors` lists each field',
  ClientError: 'Other client error (not found, conflict, unsupported media type, ...)',
  ServerError: 'The service is unavailable (503), timed out (504) or failed (500)',
} as const;

/** Builds the OpenAPI 3.1 document from the operations: every schema comes from zod. */
export function buildOpenApi(ops: readonly OperationDoc[], info: { title: string; version: string; description?: string }): Json {
  const schemas: Json = {};
  const toJson = (schema: z.ZodType, io: 'input' | 'output', owner: string): Json => {
    const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    delete js.$schema;
    const defs = (js.$defs ?? {}) as Record<string, Json>;
    delete js.$defs;
    // $defs refs are relative to the schema's root; inside the document they must point to components.
    const renames = new Map<string, string>();
    for (const name of Object.keys(defs)) renames.set(name, name.startsWith('__') ? `${owner}${name}` : name);
    const rewrite = (value: Json): Json =>
      JSON.parse(
        JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_m, name: string) => `"#/components/schemas/${renames.get(name) ?? name}"`),
      ) as Json;
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
    const pathNames = [...op.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
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
      if (others.length) {
        requestBody = { required: bodyRequired.length > 0, content: { 'application/json': { schema: body } } };
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
    const success: Json =
      status === '204'
        ? { description: 'Done; no content' }
        : {
            description: 'Success',
            content: {
              [op.produces ?? 'application/json']: { schema: op.output ? toJson(op.output, 'output', op.operationId) : {} },
            },
          };
    const ref = (name: keyof typeof errorResponses) => ({ $ref: `#/components/responses/${name}` });
    const responses: Json = { [status]: success };
    if (BODY_METHODS.has(op.method)) responses['400'] = ref('BadRequest');
    if (op.security !== 'none') responses['401'] = ref('Unauthorized');
    if (op.roles && op.roles.length > 0) responses['403'] = ref('Forbidden');
    if (op.input && Object.keys(properties).length > 0) responses['422'] = ref('InvalidInput');
    responses['4XX'] = ref('ClientError');
    responses['5XX'] = ref('ServerError');

    const description = [op.description, op.roles?.length ? `Roles: ${op.roles.join(', ')}.` : undefined]
      .filter(Boolean)
      .join('\n\n');
    (paths[oaPath] ??= {})[op.method] = {
      operationId,
      summary: op.summary,
      ...(description ? { description } : {}),
      tags: [op.tag],
      ...(op.security === 'none' ? { security: [] } : op.security === 'platform' ? { security: [{ platformToken: [] }] } : {}),
      ...(op.roles ? { 'x-relais-roles': [...op.roles] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: tags.map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.entries(errorResponses).map(([name, description]) => [
          name,
          { description, content: { [PROBLEM_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } },
        ]),
      ),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (rl_...) created by an org admin.' },
        platformToken: { type: 'http', scheme: 'bearer', description: 'The platform operator token (RELAIS_PLATFORM_TOKEN).' },
      },
    },
  };
}
