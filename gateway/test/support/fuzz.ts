// The robustness generator shared by gateway/test/fuzz.test.ts (a bounded run in the test suite), bench/fuzz.ts
// (a longer run with a throughput floor) and gateway/test/isolation.test.ts (valid requests on another org's ids).
// It reads the operations from the gateway's generated OpenAPI document, builds a valid request per operation
// from its schemas (plus the domain hints below where a schema cannot say what is valid), then mutates it.
// Everything is drawn from a seeded PRNG, so a seed and a request number name a request exactly.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { ROLES, type Role } from '@relais/shared';

// ---------------------------------------------------------------- random

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }

  /** A version 4 UUID drawn from this generator (so it is reproducible, unlike randomUUID). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16));
    hex[12] = '4';
    hex[16] = '89ab'[this.int(4)];
    const s = hex.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
}

// ---------------------------------------------------------------- the OpenAPI document

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  $ref?: string;
}

interface DocParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: JsonSchema;
}

interface DocOperation {
  operationId: string;
  security?: Record<string, unknown>[];
  'x-relais-roles'?: Role[];
  parameters?: DocParameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, unknown> } | undefined>;
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, DocOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
const METHODS: readonly Method[] = ['get', 'post', 'put', 'patch', 'delete'];

export interface Param {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface FuzzOperation {
  operationId: string;
  method: Method;
  /** OpenAPI template, e.g. /v1/people/{personId}/mail. */
  path: string;
  /** "POST /v1/people/{personId}/mail", for reports. */
  route: string;
  pathParams: Param[];
  query: Param[];
  /** The JSON body; null for a form (see `form`) and for GET/DELETE. */
  body: JsonSchema | null;
  /** A multipart/form-data body: the schema of its text fields and the name of its file part. */
  form: { fields: JsonSchema; file: string } | null;
  idempotent: boolean;
  security: 'bearer' | 'portal' | 'platform' | 'none';
  /** Roles the document allows; null when it does not say. */
  roles: Role[] | null;
  /** The documented success status. */
  success: number;
  /** The media type of the documented success body (application/octet-stream for a download); null when it has none. */
  produces: string | null;
  /** Every method mounted on the same path. */
  pathMethods: Method[];
}

/** Replaces $ref by the component it names, everywhere in the schema. */
function deref(schema: JsonSchema, doc: OpenApiDoc, depth = 0): JsonSchema {
  if (depth > 20) return schema;
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${schema.$ref}`);
    return deref(target, doc, depth + 1);
  }
  const out: JsonSchema = { ...schema };
  if (schema.properties) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, deref(v, doc, depth + 1)]));
  if (schema.items) out.items = deref(schema.items, doc, depth + 1);
  if (schema.anyOf) out.anyOf = schema.anyOf.map((s) => deref(s, doc, depth + 1));
  if (schema.oneOf) out.oneOf = schema.oneOf.map((s) => deref(s, doc, depth + 1));
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = deref(schema.additionalProperties, doc, depth + 1);
  return out;
}

/** A form's text fields and its file part (the property of format binary), from its schema. */
function formOf(schema: JsonSchema): FuzzOperation['form'] {
  const file = Object.entries(schema.properties ?? {}).find(([, s]) => s.format === 'binary')?.[0];
  if (!file) throw new Error('a multipart/form-data body without a file part (a property of format binary)');
  const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([name]) => name !== file));
  return { fields: { ...schema, properties, required: (schema.required ?? []).filter((name) => name !== file) }, file };
}

/** Every operation of the document, in its order. */
export function operationsOf(doc: OpenApiDoc): FuzzOperation[] {
  const ops: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const pathMethods = METHODS.filter((m) => item[m]);
    for (const method of pathMethods) {
      const op = item[method];
      const params = op.parameters ?? [];
      const toParam = (p: DocParameter): Param => ({ name: p.name, required: p.required === true, schema: deref(p.schema ?? { type: 'string' }, doc) });
      const body = op.requestBody?.content['application/json']?.schema;
      const formSchema = op.requestBody?.content['multipart/form-data']?.schema;
      const form = formSchema ? formOf(deref(formSchema, doc)) : null;
      const security =
        op.security?.length === 0
          ? 'none'
          : op.security?.some((s) => 'platformToken' in s)
            ? 'platform'
            : op.security?.some((s) => 'portalToken' in s)
              ? 'portal'
              : 'bearer';
      const success = Number(Object.keys(op.responses).find((s) => /^2\d\d$/.test(s)) ?? 200);
      const successBody = op.responses[String(success)]?.content;
      ops.push({
        operationId: op.operationId,
        method,
        path,
        route: `${method.toUpperCase()} ${path}`,
        pathParams: params.filter((p) => p.in === 'path').map(toParam),
        query: params.filter((p) => p.in === 'query').map(toParam),
        // A POST/PUT/PATCH without documented body fields still takes a JSON object (`{}`).
        body: body ? deref(body, doc) : form || method === 'get' || method === 'delete' ? null : { type: 'object', properties: {} },
        form,
        idempotent: params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
        security,
        roles: op['x-relais-roles'] ?? null,
        success,
        produces: successBody ? (Object.keys(successBody)[0] ?? null) : null,
        pathMethods,
      });
    }
  }
  return ops;
}

// ---------------------------------------------------------------- the org the requests act in

export interface OrgIds {
  personId: string;
  mailItemId: string;
  channelId: string;
  noteId: string;
  attachmentId: string;
  checkId: string;
  userId: string;
  tokenId: string;
  requestId: string;
  exchangeId: string;
  draftId: string;
  accessId: string;
  noticeId: string;
  /** A portal token of a client's contact of the org: what the portal routes take. */
  portalToken: string;
}

/** What the requests may name: the org A whose tokens they carry, and another org B whose ids must stay out of reach. */
export interface Fixture {
  platformToken: string;
  orgId: string;
  tokens: Record<Role, string>;
  /** People with an active domiciliation: the mail of valid requests is registered for them. */
  mailPeople: string[];
  /** People whose domiciliation the requests move through its states (activate, end, renew, refuse). */
  churnPeople: string[];
  mailItems: string[];
  /** A contact channel (an e-mail) of each mail person, by person id. */
  channels: Record<string, string>;
  /** A mobile phone of each mail person, by person id (the channel of calls). */
  phones: Record<string, string>;
  /** A note on the file of each mail person, by person id. */
  notes: Record<string, string>;
  /** An attachment (a small PDF) on the file of each mail person, by person id. */
  attachments: Record<string, string>;
  /** An asset-freeze check (on demand) of each mail person, by person id. */
  checks: Record<string, string>;
  /** Companies of org A. */
  companies: string[];
  /** Intervention requests of org A (their clients: mail people, who have a contact 1). */
  requests: string[];
  /** An exchange recorded on each request, by request id. */
  exchanges: Record<string, string>;
  /** Drafts of org A's admin. */
  drafts: string[];
  /** The portal access of the requests' client (contact 1 of the first company), and its token. */
  accesses: string[];
  portalToken: string;
  /** A notification of org A's admin (the requests' collaborator): the client posted on the portal. */
  notices: string[];
  /** Every user of org A, and those requests may disable or re-role (none of them holds a token of `tokens`). */
  users: string[];
  mutableUsers: string[];
  /** Tokens requests may revoke: the mutable users' tokens. */
  revocableTokens: string[];
  other: OrgIds & { orgId: string; adminToken: string };
}

// ---------------------------------------------------------------- HTTP

export interface RawRequest {
  method: string;
  /** Sent exactly as given, percent-encoding and all. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface RawReply {
  /** 0 when no answer came (connection error or timeout; see `error`). */
  status: number;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  /** The body as received: a download is bytes, which `text` decodes lossily. */
  bytes: Buffer;
  text: string;
  json: unknown;
  error?: string;
}

const noReply = (error: string): RawReply => ({ status: 0, contentType: '', headers: {}, bytes: Buffer.alloc(0), text: '', json: undefined, error });

/** An HTTP client that sends requests byte for byte (fetch would normalise paths and refuse some bodies). */
export class RawClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    baseUrl: string,
    sockets: number,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  send(req: RawRequest): Promise<RawReply> {
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = req.body.length;
      let out: http.ClientRequest;
      try {
        out = http.request({
          host: this.base.hostname,
          port: this.base.port,
          method: req.method,
          path: req.path,
          headers,
          agent: this.agent,
          timeout: this.timeoutMs,
        });
      } catch (err) {
        // Node refuses some requests before sending them (e.g. a character it will not put in a header).
        resolve(noReply(`not sent: ${(err as Error).message}`));
        return;
      }
      out.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(parts);
          const text = bytes.toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), headers: res.headers, bytes, text, json });
        });
        res.on('error', (err) => resolve(noReply(err.message)));
      });
      out.on('timeout', () => out.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      out.on('error', (err) => resolve(noReply(err.message)));
      out.end(req.body);
    });
  }

  /** A well-formed JSON request (fixtures and read-backs). */
  json(method: string, path: string, token: string | null, body?: unknown): Promise<RawReply> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let buffer: Buffer | undefined;
    if (body !== undefined) {
      buffer = Buffer.from(JSON.stringify(body));
      headers['content-type'] = 'application/json';
    }
    return this.send({ method, path, headers, body: buffer });
  }

  /** A well-formed multipart/form-data request (fixtures). */
  form(path: string, token: string, parts: FormPart[]): Promise<RawReply> {
    return this.send({ method: 'POST', path, headers: { authorization: `Bearer ${token}`, 'content-type': FORM_CONTENT_TYPE }, body: formBody(parts) });
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------- forms (multipart/form-data)

/** One part of a form: a text field, or a file when it has a filename. */
export interface FormPart {
  name: string;
  /** Written into the part's header as is, UTF-8 like browsers do; a Buffer may hold bytes that are not UTF-8. */
  filename?: string | Buffer;
  /** Written as `filename*=` (RFC 8187, already percent-encoded), instead of `filename`. */
  filenameStar?: string;
  contentType?: string;
  value: string | Buffer;
  /** Replaces the part's header lines (Content-Disposition and Content-Type). */
  headerRaw?: string;
}

/** Long and not found in the sample files: no file of a valid request can end its part early. */
export const FORM_BOUNDARY = '----relais-fuzz-boundary-7c1f0e9a4b2d';
export const FORM_CONTENT_TYPE = `multipart/form-data; boundary=${FORM_BOUNDARY}`;

/** The bytes of a form as a browser sends it. */
export function formBody(parts: FormPart[], boundary = FORM_BOUNDARY): Buffer {
  const out: Buffer[] = [];
  for (const part of parts) {
    out.push(Buffer.from(`--${boundary}\r\n`));
    if (part.headerRaw !== undefined) {
      out.push(Buffer.from(part.headerRaw));
    } else {
      out.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"`));
      if (part.filenameStar !== undefined) out.push(Buffer.from(`; filename*=UTF-8''${part.filenameStar}`));
      else if (part.filename !== undefined) out.push(Buffer.from('; filename="'), Buffer.from(part.filename), Buffer.from('"'));
      if (part.contentType !== undefined) out.push(Buffer.from(`\r\nContent-Type: ${part.contentType}`));
    }
    out.push(Buffer.from('\r\n\r\n'), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/** A real one-page PDF showing `text` (ASCII), with a correct cross-reference table. */
export function samplePdf(text = 'Relais'): Buffer {
  const content = `BT /F1 18 Tf 20 40 Td (${text.replace(/[()\\]/g, '')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A 1x1 PNG. */
export const SAMPLE_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

export interface SampleFile {
  filename: string;
  /** The declared type (the part's Content-Type); the type kept is read from the bytes. */
  contentType: string;
  bytes: Buffer;
}

/** Files a caseworker attaches, with names as people type them; the declared type of one is wrong, which must not matter. */
export const SAMPLE_FILES: readonly SampleFile[] = [
  { filename: 'relevé d’identité.pdf', contentType: 'application/pdf', bytes: samplePdf('Releve d identite') },
  { filename: "Courrier CAF (mars) l'avis.pdf", contentType: 'application/octet-stream', bytes: samplePdf('Avis CAF') },
  { filename: 'pièce-jointe.png', contentType: 'image/png', bytes: SAMPLE_PNG },
  {
    filename: '李小龙 — notes 😀.txt',
    contentType: 'text/plain; charset=utf-8',
    bytes: Buffer.from('Bonjour,\nvotre dossier est complet.\nZoë N’Diaye — 李小龙 😀\n'),
  },
  { filename: 'compte-rendu.txt', contentType: 'text/plain', bytes: Buffer.from('Appel du 12 mars : paiement promis le 15.\n') },
];

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function expectStatus(reply: RawReply, status: number, what: string): unknown {
  if (reply.status !== status) throw new Error(`${what} answered ${reply.status || reply.error}, not ${status}: ${reply.text.slice(0, 300)}`);
  return reply.json;
}

/** The UTC date `offset` days from today, YYYY-MM-DD. */
export function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Org A (every role, people in several domiciliation states, mail, users and tokens the requests may change)
 * and org B (one of each id), all created through the API as a client would.
 */
export async function createFixture(client: RawClient, platformToken: string, label: string): Promise<Fixture> {
  const org = async (name: string) =>
    expectStatus(
      await client.json('POST', '/v1/orgs', platformToken, {
        name,
        region: 'FR',
        timeZone: 'Europe/Paris',
        admin: { name: 'Admin', email: 'admin@relais.test' },
      }),
      201,
      'POST /v1/orgs',
    ) as { org: { id: string }; admin: { id: string }; token: { token: string } };
  const user = async (admin: string, role: Role, email: string) =>
    (expectStatus(await client.json('POST', '/v1/users', admin, { name: `Fuzz ${role}`, email, role }), 201, 'POST /v1/users') as { id: string }).id;
  const token = async (admin: string, userId: string) =>
    expectStatus(await client.json('POST', `/v1/users/${userId}/tokens`, admin, { label: 'fuzz' }), 201, 'POST /v1/users/{userId}/tokens') as {
      id: string;
      token: string;
    };
  const person = async (admin: string, i: number, state: 'none' | 'requested' | 'active') => {
    const p = expectStatus(await client.json('POST', '/v1/people', admin, { lastName: `Fuzz${i}`, firstName: 'Person' }), 201, 'POST /v1/people') as {
      id: string;
    };
    const base = `/v1/people/${p.id}/domiciliation`;
    if (state !== 'none') expectStatus(await client.json('POST', base, admin, {}), 201, 'POST domiciliation');
    if (state === 'active') {
      expectStatus(await client.json('POST', `${base}/activate`, admin, { startDate: day(-1), endDate: day(364) }), 200, 'POST domiciliation/activate');
    }
    return p.id;
  };
  const channel = async (admin: string, personId: string, i: number) =>
    (
      expectStatus(
        await client.json('POST', `/v1/parties/${personId}/channels`, admin, { kind: 'email', type: 'private', email: `person${i}@relais.test` }),
        201,
        'POST channels',
      ) as { id: string }
    ).id;
  const phone = async (admin: string, personId: string, i: number) =>
    (
      expectStatus(
        await client.json('POST', `/v1/parties/${personId}/channels`, admin, { kind: 'phone', type: 'mobile', number: `06 12 34 56 ${String(10 + i)}` }),
        201,
        'POST channels (mobile)',
      ) as { id: string }
    ).id;
  const note = async (admin: string, personId: string, i: number) =>
    (expectStatus(await client.json('POST', `/v1/parties/${personId}/notes`, admin, { text: `Fuzz note ${i}` }), 201, 'POST notes') as { id: string }).id;
  const attachment = async (admin: string, personId: string, i: number) => {
    const file: FormPart = { name: 'file', filename: `pièce ${i}.pdf`, contentType: 'application/pdf', value: samplePdf(`Fuzz ${i}`) };
    const reply = await client.form(`/v1/parties/${personId}/attachments`, admin, [{ name: 'description', value: `Fuzz attachment ${i}` }, file]);
    return (expectStatus(reply, 201, 'POST attachments') as { id: string }).id;
  };
  const check = async (admin: string, personId: string) =>
    (expectStatus(await client.json('POST', `/v1/parties/${personId}/screening`, admin, {}), 201, 'POST screening') as { id: string }).id;
  const company = async (admin: string, i: number) =>
    (expectStatus(await client.json('POST', '/v1/companies', admin, { companyName: `Fuzz SARL ${label} ${i}` }), 201, 'POST companies') as { id: string }).id;
  const clientContact = async (admin: string, clientId: string) =>
    expectStatus(
      await client.json('POST', `/v1/parties/${clientId}/contacts`, admin, {
        name: 'Fuzz Contact',
        function: 'Gestionnaire',
        email: `contact-${label}@relais.test`,
      }),
      201,
      'POST contacts',
    );
  const portalAccess = async (admin: string, clientId: string) =>
    expectStatus(await client.json('POST', `/v1/parties/${clientId}/contacts/1/portal-access`, admin, {}), 201, 'POST portal-access') as {
      id: string;
      token: string;
    };
  /** A portal post on the request, and the notification it gives its collaborator (the admin who registered it). */
  const notice = async (admin: string, portalToken: string, requestId: string) => {
    expectStatus(await client.json('POST', `/v1/portal/requests/${requestId}/exchanges`, portalToken, { detail: 'Fuzz portal post' }), 201, 'POST portal post');
    for (let i = 0; i < 150; i++) {
      const items = (expectStatus(await client.json('GET', '/v1/me/notifications', admin), 200, 'GET notifications') as { items: { id: string }[] }).items;
      if (items.length > 0) return items[0].id;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('no notification of the portal post within 30 s');
  };
  const request = async (admin: string, clientId: string) =>
    (
      expectStatus(await client.json('POST', '/v1/intervention-requests', admin, { clientId, title: 'Fuzz request' }), 201, 'POST intervention-requests') as {
        id: string;
      }
    ).id;
  const exchange = async (admin: string, requestId: string) =>
    (
      expectStatus(
        await client.json('POST', `/v1/intervention-requests/${requestId}/exchanges/sent`, admin, { type: 'contact', detail: 'Fuzz call' }),
        201,
        'POST exchanges/sent',
      ) as { id: string }
    ).id;
  const draft = async (admin: string, requestId: string) =>
    (
      expectStatus(await client.json('POST', `/v1/intervention-requests/${requestId}/drafts`, admin, { detail: 'Fuzz draft' }), 201, 'POST drafts') as {
        id: string;
      }
    ).id;
  const mail = async (admin: string, personId: string) =>
    (expectStatus(await client.json('POST', `/v1/people/${personId}/mail`, admin, { kind: 'letter', sender: 'CAF' }), 201, 'POST mail') as { id: string }).id;

  const a = await org(`Fuzz A ${label}`);
  const admin = a.token.token;
  const tokens = { admin } as Record<Role, string>;
  const users = [a.admin.id];
  for (const role of ROLES.filter((r) => r !== 'admin')) {
    const id = await user(admin, role, `${role}@relais.test`);
    users.push(id);
    tokens[role] = (await token(admin, id)).token;
  }
  const mutableUsers = [await user(admin, 'agent', 'mutable1@relais.test'), await user(admin, 'caseworker', 'mutable2@relais.test')];
  users.push(...mutableUsers);
  const revocableTokens: string[] = [];
  for (const id of mutableUsers) revocableTokens.push((await token(admin, id)).id, (await token(admin, id)).id);
  const mailPeople = await Promise.all([0, 1, 2, 3].map((i) => person(admin, i, 'active')));
  const churnPeople = await Promise.all([
    person(admin, 4, 'none'),
    person(admin, 5, 'requested'),
    person(admin, 6, 'requested'),
    person(admin, 7, 'active'),
    person(admin, 8, 'active'),
  ]);
  const mailItems = await Promise.all(mailPeople.map((id) => mail(admin, id)));
  const channels = Object.fromEntries(await Promise.all(mailPeople.map(async (id, i) => [id, await channel(admin, id, i)] as const)));
  const phones = Object.fromEntries(await Promise.all(mailPeople.map(async (id, i) => [id, await phone(admin, id, i)] as const)));
  const notes = Object.fromEntries(await Promise.all(mailPeople.map(async (id, i) => [id, await note(admin, id, i)] as const)));
  const attachments = Object.fromEntries(await Promise.all(mailPeople.map(async (id, i) => [id, await attachment(admin, id, i)] as const)));
  const checks = Object.fromEntries(await Promise.all(mailPeople.map(async (id) => [id, await check(admin, id)] as const)));
  const companies = await Promise.all([0, 1].map((i) => company(admin, i)));
  // The requests' client is a company with a contact who has an e-mail: the portal link goes there.
  await clientContact(admin, companies[0]);
  const requests = await Promise.all([0, 1].map(() => request(admin, companies[0])));
  const access = await portalAccess(admin, companies[0]);
  const notices = [await notice(admin, access.token, requests[0])];
  const exchanges = Object.fromEntries(await Promise.all(requests.map(async (id) => [id, await exchange(admin, id)] as const)));
  const drafts = await Promise.all(requests.map((id) => draft(admin, id)));

  const b = await org(`Fuzz B ${label}`);
  const bPerson = await person(b.token.token, 0, 'active');
  const bUser = await user(b.token.token, 'agent', 'agent@relais.test');
  const bCompany = await company(b.token.token, 9);
  await clientContact(b.token.token, bCompany);
  const bRequest = await request(b.token.token, bCompany);
  const bAccess = await portalAccess(b.token.token, bCompany);
  const bNotice = await notice(b.token.token, bAccess.token, bRequest);
  return {
    platformToken,
    orgId: a.org.id,
    tokens,
    mailPeople,
    churnPeople,
    mailItems,
    channels,
    notes,
    attachments,
    checks,
    phones,
    companies,
    requests,
    exchanges,
    drafts,
    accesses: [access.id],
    portalToken: access.token,
    notices,
    users,
    mutableUsers,
    revocableTokens,
    other: {
      orgId: b.org.id,
      adminToken: b.token.token,
      personId: bPerson,
      mailItemId: await mail(b.token.token, bPerson),
      channelId: await channel(b.token.token, bPerson, 0),
      noteId: await note(b.token.token, bPerson, 0),
      attachmentId: await attachment(b.token.token, bPerson, 0),
      checkId: await check(b.token.token, bPerson),
      userId: bUser,
      tokenId: (await token(b.token.token, bUser)).id,
      requestId: bRequest,
      exchangeId: await exchange(b.token.token, bRequest),
      draftId: await draft(b.token.token, bRequest),
      accessId: bAccess.id,
      noticeId: bNotice,
      portalToken: bAccess.token,
    },
  };
}

// ---------------------------------------------------------------- valid requests

/** Free text a person may type: accents, quotes, scripts, emoji, markup and query-looking text, no control characters. */
export const FREE_TEXT = [
  'CAF',
  'Préfecture de La Réunion',
  'Caisse d’allocations familiales',
  'Zoë “Zaza” N’Diaye',
  'Jean-Éric de La Fontaine',
  'محمد الأمين',
  '李小龙',
  'Ōsaka & Co. — 東京',
  'Renée 😀 Dupont',
  "O'Brien; DROP TABLE people;--",
  '<script>alert(1)</script>',
  'Ünïcödé ñ ß ø å',
  '{{count}} {{signature}}',
  '{"$gt":""}',
  '__proto__',
  'x',
];
const SENDER_IDS = ['CCAS', 'CCAS Demo', 'Relais-974', 'A&B+C_D'];
const PHONES = ['06 12 34 56 78', '0712345678', '+33 6 98 76 54 32', '+262 692 01 02 03'];
const MAIL_TEMPLATE = 'Bonjour, {{count}} {{plural count "courrier" "courriers"}} vous attend. {{signature}}';
const REMINDER_TEMPLATE = 'Bonjour, votre domiciliation prend fin le {{endDate}}. {{signature}}';

const OMIT = Symbol('omit');
type Value = unknown;

interface GenContext {
  rng: Rng;
  fx: Fixture;
  op: FuzzOperation;
  /** Path values chosen so far (a template's body depends on its kind). */
  path: Record<string, string>;
  /** Include every optional field (the reference shape whose fields mutations target). */
  full: boolean;
  unique: () => number;
  seed: number;
}

const text = (c: GenContext) => c.rng.pick(FREE_TEXT);

/** The person a request names: domiciliation changes go to the churn people, so the mail people stay active. */
function personFor(c: GenContext): string {
  const changesDomiciliation = c.op.operationId.startsWith('domiciliation.') && c.op.method !== 'get' && c.op.operationId !== 'domiciliation.setSmsConsent';
  if (changesDomiciliation) return c.rng.pick(c.fx.churnPeople);
  return c.rng.chance(0.8) ? c.rng.pick(c.fx.mailPeople) : c.rng.pick(c.fx.churnPeople);
}

/**
 * What a schema cannot say is valid, by field name (`<operationId>.<field>` first): existing ids, mobile
 * numbers, time zones, template sources. Fields without a hint are drawn from their schema.
 */
/** One of the default exchange types of an org. */
const exchangeType = (c: GenContext) => c.rng.pick(['contact', 'appointment', 'informationRequest', 'reminder', 'other']);

const FIELD_HINTS: Record<string, (c: GenContext) => Value> = {
  'contacts.searchPeople.name': (c) => c.rng.pick(['fuzz', 'pers', 'Zoë', 'o brien']),
  'gateway.users.update.userId': (c) => c.rng.pick(c.fx.mutableUsers),
  personId: personFor,
  // People are parties: a file's debtors and channels are drawn from the same people.
  partyId: personFor,
  debtorId: (c) => (c.rng.chance(0.5) ? c.rng.pick(c.fx.companies) : personFor(c)),
  companyId: (c) => c.rng.pick(c.fx.companies),
  siren: (c) => c.rng.pick(['732829320', '552100554', '443061841']),
  mailItemId: (c) => c.rng.pick(c.fx.mailItems),
  // The channel of the person in the path when there is one, so most requests reach a real channel.
  channelId: (c) => c.fx.channels[c.path.partyId ?? c.path.personId ?? ''] ?? c.rng.pick(Object.values(c.fx.channels)),
  // Likewise the note of the person in the path.
  noteId: (c) => c.fx.notes[c.path.partyId ?? ''] ?? c.rng.pick(Object.values(c.fx.notes)),
  // Likewise its attachment: the fixture's only, so the run never deletes an attachment one of its requests uploaded.
  attachmentId: (c) => c.fx.attachments[c.path.partyId ?? ''] ?? c.rng.pick(Object.values(c.fx.attachments)),
  // Likewise its asset-freeze check.
  checkId: (c) => c.fx.checks[c.path.partyId ?? ''] ?? c.rng.pick(Object.values(c.fx.checks)),
  // An override is for managers and admins only: valid drafts leave it out, mutations add it.
  screeningOverride: () => OMIT,
  'contacts.decideScreening.reason': (c) => c.rng.pick(['Homonym: another birth date and nationality', 'Same person, confirmed with the register']),
  // Every person has contact 1 (the client themself, made on first access); 2 exists once a request created it.
  contactNumber: (c) => 1 + c.rng.int(2),
  userId: (c) => c.rng.pick(c.fx.users),
  requestId: (c) => c.rng.pick(c.fx.requests),
  // The exchange of the request in the path, so most requests reach a real one.
  exchangeId: (c) => c.fx.exchanges[c.path.requestId ?? ''] ?? c.rng.pick(Object.values(c.fx.exchanges)),
  draftId: (c) => c.rng.pick(c.fx.drafts),
  accessId: (c) => c.rng.pick(c.fx.accesses),
  noticeId: (c) => c.rng.pick(c.fx.notices),
  // Portal access goes to the requests' client, whose contact 1 has an e-mail.
  'gateway.portal.grant.partyId': (c) => c.fx.companies[0],
  'gateway.portal.grant.contactNumber': () => 1,
  // Closed is final: valid requests keep the fixture's requests open for the writes after them.
  'exchanges.updateRequest.status': (c) => c.rng.pick(['open', 'done']),
  'exchanges.createRequest.clientId': (c) => c.rng.pick(c.fx.mailPeople),
  'exchanges.createRequest.assignedTo': (c) => c.rng.pick(c.fx.users),
  'exchanges.updateRequest.assignedTo': (c) => c.rng.pick(c.fx.users),
  'exchanges.recordSent.sentBy': (c) => c.rng.pick(c.fx.users),
  'exchanges.recordReceived.receivedBy': (c) => c.rng.pick(c.fx.users),
  // Every client of a request has contact 1 (the person themself).
  interlocutor: () => 1,
  'exchanges.recordSent.receivedBy': () => 1,
  'exchanges.recordReceived.sentBy': () => 1,
  'exchanges.sendEmail.receivedBy': () => 1,
  'exchanges.saveDraft.receivedBy': () => 1,
  'exchanges.updateDraft.receivedBy': () => 1,
  // A draft sent is gone: valid e-mails are written afresh; mutations name drafts.
  'exchanges.sendEmail.draftId': () => OMIT,
  'exchanges.sendEmail.to': (c) => `fuzz-${c.seed}-${c.unique()}@relais.test`,
  'exchanges.saveDraft.to': (c) => `fuzz-${c.seed}-${c.unique()}@relais.test`,
  'exchanges.updateDraft.to': (c) => `fuzz-${c.seed}-${c.unique()}@relais.test`,
  'exchanges.recordSent.type': exchangeType,
  'exchanges.recordReceived.type': exchangeType,
  'exchanges.sendEmail.type': exchangeType,
  'exchanges.editExchange.type': exchangeType,
  'exchanges.portalPost.type': exchangeType,
  tokenId: (c) => c.rng.pick(c.fx.revocableTokens),
  lastName: text,
  firstName: text,
  usageName: text,
  birthPlace: text,
  name: text,
  label: text,
  reason: text,
  sender: text,
  note: text,
  proxyName: text,
  signature: text,
  senderId: (c) => c.rng.pick(SENDER_IDS),
  customId: (c) => `F-${c.seed}-${c.unique()}`,
  email: (c) => `fuzz-${c.seed}-${c.unique()}@relais.test`,
  birthDate: (c) => c.rng.pick(['1976-10-03', '2000-02-29', '1900-01-01']),
  spokenLanguage: (c) => c.rng.pick(['fr', 'ar', 'rcf', 'swb', 'ht']),
  region: (c) => c.rng.pick(['FR', 'RE', 'GP', 'MQ']),
  timeZone: (c) => c.rng.pick(['Europe/Paris', 'Indian/Reunion', 'America/Guadeloupe', 'UTC']),
  phone: (c) => c.rng.pick(PHONES),
  // A query boolean: z.stringbool, which the schema shows as a plain string.
  showInvalid: (c) => c.rng.pick(['true', 'false']),
  file: (c) => c.rng.pick(['true', 'false']),
  // Erasing is admin-only and final: valid requests mostly remove, as staff do.
  erase: (c) => (c.rng.chance(0.1) ? 'true' : 'false'),
  date: () => day(0),
  from: () => `${day(-30)}T00:00:00Z`,
  to: () => `${day(1)}T00:00:00Z`,
  // No valid cursor exists before a first page.
  cursor: () => OMIT,
  quantity: (c) => 1 + c.rng.int(3),
  limit: (c) => 1 + c.rng.int(20),
  sendDays: (c) => c.rng.pick([[2, 4], [1], [1, 2, 3, 4, 5, 6, 7]]),
  templates: () => ({ 'mail.letter': MAIL_TEMPLATE, 'domiciliation.reminder': REMINDER_TEMPLATE }),
  mailItemIds: () => OMIT,
  items: (c) =>
    Array.from({ length: 1 + c.rng.int(4) }, () => ({
      personId: c.rng.pick(c.fx.mailPeople),
      kind: c.rng.pick(['letter', 'parcel', 'deliveryNotice']),
      quantity: 1 + c.rng.int(2),
      ...(c.full || c.rng.chance(0.5) ? { sender: text(c) } : {}),
      ...(c.full || c.rng.chance(0.3) ? { note: text(c) } : {}),
    })),
};

/** A client contact: `address` and `copyClientAddress` exclude each other, and phones are read as channels are. */
function clientContactBody(c: GenContext): Record<string, Value> {
  return {
    name: text(c),
    function: c.rng.pick(['Comptable', 'DAF', 'Fils']),
    ...(c.full || c.rng.chance(0.5) ? { email: `fuzz-${c.seed}-${c.unique()}@relais.test` } : {}),
    ...(c.full || c.rng.chance(0.5) ? { phones: [{ type: 'mobile', number: c.rng.pick(PHONES) }] } : {}),
    ...(c.full || c.rng.chance(0.5) ? { routingRoles: [c.rng.pick(['dueNotices', 'unpaidReminders', 'documentReminders', 'claimSettlements'])] } : {}),
    ...(c.full ? { displayOrder: 1 + c.rng.int(5) } : {}),
  };
}

/** Whole bodies whose fields depend on each other (refinements a schema does not show). */
const BODY_HINTS: Record<string, (c: GenContext) => Record<string, Value>> = {
  'domiciliation.setSmsConsent': (c) => (c.full || c.rng.chance(0.75) ? { consent: true, phone: c.rng.pick(PHONES) } : { consent: false }),
  'contacts.addChannel': (c) =>
    c.rng.chance(0.5)
      ? {
          kind: 'email',
          type: c.rng.pick(['private', 'professional']),
          email: `fuzz-${c.seed}-${c.unique()}@relais.test`,
          ...(c.full ? { observation: text(c) } : {}),
        }
      : { kind: 'phone', type: c.rng.pick(['mobile', 'private', 'professional']), number: c.rng.pick(PHONES) },
  'contacts.changeChannel': (c) =>
    c.full || c.rng.chance(0.5) ? { observation: text(c) } : { kind: 'email', email: `fuzz-${c.seed}-${c.unique()}@relais.test` },
  'contacts.recordContactAction': (c) =>
    c.rng.chance(0.5)
      ? {
          type: 'call',
          outcome: c.rng.pick(['reached', 'noAnswer', 'voicemail', 'busy']),
          channelId: c.fx.phones[c.path.partyId ?? ''] ?? c.rng.pick(Object.values(c.fx.phones)),
          ...(c.full ? { note: text(c) } : {}),
        }
      : {
          // An e-mail through notifications to the file's address (the stack's log provider takes it).
          type: 'email',
          channelId: c.fx.channels[c.path.partyId ?? ''] ?? c.rng.pick(Object.values(c.fx.channels)),
          subject: text(c),
          text: text(c),
          ...(c.full ? { note: text(c) } : {}),
        },
  'contacts.createClientContact': (c) => clientContactBody(c),
  'contacts.updateClientContact': (c) => (c.full || c.rng.chance(0.5) ? clientContactBody(c) : { endDate: c.rng.chance(0.5) ? day(30) : null }),
  'contacts.qualifyChannel': (c) =>
    c.rng.pick([{ action: 'validate', evidence: { kind: 'outboundCall' } }, { action: 'cancel' }, { action: 'setDefault', confirm: true }]),
  'mail.handOver': (c) => (c.full || c.rng.chance(0.5) ? { to: 'proxy', proxyName: text(c) } : {}),
  'domiciliation.activate': () => ({ startDate: day(-1), endDate: day(364) }),
  'domiciliation.renew': (c) => (c.full || c.rng.chance(0.5) ? { startDate: day(400), endDate: day(760) } : { endDate: day(730 + c.rng.int(300)) }),
  'domiciliation.changeEndDate': (c) => ({ endDate: day(400 + c.rng.int(200)) }),
  'domiciliation.end': (c) => (c.full || c.rng.chance(0.5) ? { endDate: day(0) } : {}),
  'notifications.setTemplate': (c) => ({ source: c.path.kind === 'domiciliation.reminder' ? REMINDER_TEMPLATE : MAIL_TEMPLATE }),
  'gateway.users.update': (c) =>
    c.full ? { role: 'agent', disabled: false } : c.rng.chance(0.5) ? { role: c.rng.pick(ROLES) } : { disabled: c.rng.chance(0.3) },
  'notifications.updateSettings': (c) => ({
    smsEnabled: c.rng.chance(0.5),
    senderId: c.rng.pick(SENDER_IDS),
    signature: text(c).slice(0, 60),
    ...(c.full || c.rng.chance(0.5) ? { sendDays: [2, 4] } : {}),
    ...(c.full || c.rng.chance(0.5) ? { timeZone: c.rng.pick(['Europe/Paris', 'Indian/Reunion']) } : {}),
  }),
};

function nonNull(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf ?? schema.oneOf;
  if (!options) return schema;
  return nonNull(options.find((o) => o.type !== 'null') ?? options[0]);
}

/** A value the schema accepts, for fields no hint covers. */
function fromSchema(schema: JsonSchema, c: GenContext): Value {
  const s = nonNull(schema);
  if (s.const !== undefined) return s.const;
  if (s.enum) return c.rng.pick(s.enum);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'boolean':
      return c.rng.chance(0.5);
    case 'integer':
    case 'number': {
      const min = s.minimum ?? 0;
      const max = Math.min(s.maximum ?? min + 10, min + 10);
      return min + c.rng.int(max - min + 1);
    }
    case 'array': {
      const n = Math.max(s.minItems ?? 0, 1);
      return Array.from({ length: n }, () => fromSchema(s.items ?? { type: 'string' }, c));
    }
    case 'object':
      return objectFrom(s, c);
    default: {
      if (s.format === 'uuid') return c.rng.uuid();
      if (s.format === 'date') return day(0);
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'email') return `fuzz-${c.seed}-${c.unique()}@relais.test`;
      const candidate = text(c);
      if (candidate.length <= (s.maxLength ?? Infinity) && !s.pattern) return candidate;
      return 'x'.repeat(Math.max(s.minLength ?? 1, 1));
    }
  }
}

function fieldValue(name: string, schema: JsonSchema, c: GenContext): Value {
  const hint = FIELD_HINTS[`${c.op.operationId}.${name}`] ?? FIELD_HINTS[name];
  return hint ? hint(c) : fromSchema(schema, c);
}

function objectFrom(schema: JsonSchema, c: GenContext): Record<string, Value> {
  const out: Record<string, Value> = {};
  const required = new Set(schema.required ?? []);
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (!required.has(name) && !c.full && !c.rng.chance(0.5)) continue;
    const value = fieldValue(name, prop, c);
    if (value !== OMIT) out[name] = value;
  }
  return out;
}

// ---------------------------------------------------------------- drafts: a request before it is serialised

interface Draft {
  method: string;
  pathValues: Record<string, string>;
  /** Already encoded path segments that replace a value of pathValues. */
  pathRaw: Record<string, string>;
  query: Record<string, Value>;
  /** Replaces the query string built from `query` (without the "?"). */
  queryRaw?: string;
  /** The JSON body (undefined: none). */
  body?: Value;
  /** The parts of a multipart/form-data body, in order (operations with a `form`). */
  form?: FormPart[];
  /** Replaces the serialised body. */
  bodyRaw?: Buffer;
  contentType: string | null;
  headers: Record<string, string>;
  token: string | null;
  /** A path segment holds another org's id. */
  otherOrg: boolean;
  /** Markers inside strings, written in the JSON text as raw escapes and in URLs as percent-encoding. */
  inString: Map<string, { json: string; url: string }>;
  /** Markers standing for a whole JSON value, written as the raw text given. */
  rawValues: Map<string, string>;
  /** Markers inside strings written as raw bytes (invalid UTF-8). */
  bytes: Map<string, Buffer>;
}

function validDraft(op: FuzzOperation, c: GenContext): Draft {
  const pathValues: Record<string, string> = {};
  for (const p of op.pathParams) pathValues[p.name] = String(fieldValue(p.name, p.schema, { ...c, path: pathValues }));
  const gc = { ...c, path: pathValues };
  const query: Record<string, Value> = {};
  for (const p of op.query) {
    if (!p.required && !c.full && !c.rng.chance(0.5)) continue;
    const v = fieldValue(p.name, p.schema, gc);
    if (v !== OMIT) query[p.name] = v;
  }
  let body: Value;
  if (op.body) body = BODY_HINTS[op.operationId] ? BODY_HINTS[op.operationId](gc) : objectFrom(op.body, gc);
  let form: FormPart[] | undefined;
  if (op.form) {
    // The text fields first, then the file: the order the gateway requires.
    const fields = Object.entries(objectFrom(op.form.fields, gc)).map(([name, value]): FormPart => ({ name, value: String(value) }));
    const file = c.rng.pick(SAMPLE_FILES);
    form = [...fields, { name: op.form.file, filename: file.filename, contentType: file.contentType, value: file.bytes }];
  }
  let token: string | null = null;
  if (op.security === 'platform') token = c.fx.platformToken;
  if (op.security === 'portal') token = c.fx.portalToken;
  if (op.security === 'bearer') {
    const allowed = op.roles && op.roles.length > 0 ? op.roles : ['admin' as Role];
    token = c.fx.tokens[c.rng.chance(0.5) && allowed.includes('admin') ? 'admin' : c.rng.pick(allowed)];
  }
  return {
    method: op.method.toUpperCase(),
    pathValues,
    pathRaw: {},
    query,
    body,
    form,
    contentType: form ? FORM_CONTENT_TYPE : body === undefined ? null : 'application/json',
    headers: {},
    token,
    otherOrg: false,
    inString: new Map(),
    rawValues: new Map(),
    bytes: new Map(),
  };
}

/** Where a value sits in a draft: a path parameter, a query parameter or a place in the body. */
type Place = { in: 'path'; name: string } | { in: 'query'; name: string } | { in: 'body'; at: (string | number)[] };

const placeName = (p: Place) => (p.in === 'body' ? `body.${p.at.join('.') || '(root)'}` : `${p.in}.${p.name}`);

/** Every leaf of the body (strings, numbers, booleans, null, empty containers; in arrays, the first element's) and every query parameter. */
function leaves(d: Draft): Place[] {
  const out: Place[] = Object.keys(d.query).map((name) => ({ in: 'query' as const, name }));
  const walk = (v: Value, at: (string | number)[]) => {
    if (Array.isArray(v) && v.length > 0) walk(v[0], [...at, 0]);
    else if (v && typeof v === 'object' && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    else if (at.length > 0) out.push({ in: 'body', at });
  };
  walk(d.body, []);
  return out;
}

/** Every array (or, with `objects`, object) of the body below its root, for the huge and nested variants. */
function containers(d: Draft, objects: boolean): Place[] {
  const out: Place[] = [];
  const walk = (v: Value, at: (string | number)[]) => {
    if (!v || typeof v !== 'object') return;
    if (at.length > 0 && (Array.isArray(v) || objects)) out.push({ in: 'body', at });
    if (Array.isArray(v)) walk(v[0], [...at, 0]);
    else for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
  };
  walk(d.body, []);
  return out;
}

function getAt(d: Draft, p: Place): Value {
  if (p.in === 'path') return d.pathValues[p.name];
  if (p.in === 'query') return d.query[p.name];
  let v = d.body;
  for (const k of p.at) v = (v as Record<string | number, Value> | null | undefined)?.[k];
  return v;
}

function setAt(d: Draft, p: Place, value: Value): void {
  if (p.in === 'path') d.pathValues[p.name] = String(value);
  else if (p.in === 'query') d.query[p.name] = value;
  else {
    let v = d.body as Record<string | number, Value>;
    for (const k of p.at.slice(0, -1)) v = v[k] as Record<string | number, Value>;
    v[p.at[p.at.length - 1]] = value;
  }
}

/** Sets a place, first copying from `ref` what holds it when the draft left that out. */
function put(d: Draft, ref: Draft, p: Place, value: Value): void {
  if (p.in === 'body') {
    for (let i = 1; i < p.at.length; i++) {
      const parent: Place = { in: 'body', at: p.at.slice(0, i) };
      if (getAt(d, parent) === undefined) setAt(d, parent, structuredClone(getAt(ref, parent)));
    }
  }
  setAt(d, p, value);
}

function deleteAt(d: Draft, p: Place): void {
  if (p.in === 'query') delete d.query[p.name];
  else if (p.in === 'body') {
    let v = d.body as Record<string | number, Value>;
    for (const k of p.at.slice(0, -1)) v = v[k] as Record<string | number, Value>;
    const last = p.at[p.at.length - 1];
    if (Array.isArray(v)) v.splice(Number(last), 1);
    else delete v[last];
  }
}

let markerCount = 0;
const marker = (kind: string) => `~${kind}${markerCount++}~`;

/** Puts a marker into a string value; the marker becomes raw JSON escapes, percent-encoding or bytes when serialised. */
function insertMarker(d: Draft, ref: Draft, p: Place, m: string, rng: Rng): void {
  const current = getAt(d, p) ?? getAt(ref, p);
  // Split between code points: cutting a surrogate pair would add a lone surrogate the label does not name.
  // The text String() gives, except that an object gives none rather than '[object Object]'.
  const text =
    typeof current === 'string'
      ? current
      : Array.isArray(current)
        ? current.join(',')
        : typeof current === 'number' || typeof current === 'boolean'
          ? String(current)
          : '';
  const chars = Array.from(text);
  const at = rng.pick([0, Math.floor(chars.length / 2), chars.length]);
  put(d, ref, p, rng.chance(0.2) ? m : [...chars.slice(0, at), m, ...chars.slice(at)].join(''));
}

function serialiseBody(d: Draft): Buffer | undefined {
  if (d.bodyRaw) return d.bodyRaw;
  if (d.form) return formBody(d.form);
  if (d.body === undefined) return undefined;
  let textBody = JSON.stringify(d.body);
  for (const [m, raw] of d.rawValues) textBody = textBody.replaceAll(`"${m}"`, raw);
  for (const [m, esc] of d.inString) textBody = textBody.replaceAll(m, esc.json);
  return withBytes(textBody, d.bytes);
}

function withBytes(textBody: string, bytes: Map<string, Buffer>): Buffer {
  let parts: (string | Buffer)[] = [textBody];
  for (const [m, b] of bytes) parts = parts.flatMap((part) => (typeof part === 'string' ? part.split(m).flatMap((s, i) => (i === 0 ? [s] : [b, s])) : [part]));
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
}

function encodeValue(v: Value, d: Draft): string[] {
  const one = (x: Value) => {
    let s = encodeURIComponent(typeof x === 'string' ? x : JSON.stringify(x));
    for (const [m, esc] of d.inString) s = s.replaceAll(m, esc.url);
    return s;
  };
  return Array.isArray(v) ? v.map(one) : [one(v)];
}

export interface FuzzRequest extends RawRequest {
  /** Position in the run (1-based): with the seed, it names the request. */
  n: number;
  op: FuzzOperation;
  mutation: string;
  /** A path segment holds another org's id: any 2xx would be a leak. */
  otherOrg: boolean;
  /** The file a form request sent (its first file part), to compare an acknowledged upload with. */
  upload?: { size: number; sha256: string };
}

function serialise(op: FuzzOperation, d: Draft, n: number, mutation: string): FuzzRequest {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => d.pathRaw[name] ?? encodeValue(d.pathValues[name], d)[0]);
  const query =
    d.queryRaw ??
    Object.entries(d.query)
      .flatMap(([k, v]) => encodeValue(v, d).map((e) => `${encodeURIComponent(k)}=${e}`))
      .join('&');
  const headers: Record<string, string> = { ...d.headers };
  if (d.token !== null) headers.authorization ??= `Bearer ${d.token}`;
  const body = serialiseBody(d);
  if (body !== undefined && d.contentType !== null) headers['content-type'] = d.contentType;
  const file = d.form?.find((p) => p.name === op.form?.file && (p.filename !== undefined || p.filenameStar !== undefined));
  const upload = file ? { size: Buffer.from(file.value).length, sha256: sha256(Buffer.from(file.value)) } : undefined;
  return { n, op, mutation, otherOrg: d.otherOrg, method: d.method, path: query ? `${path}?${query}` : path, headers, body, ...(upload ? { upload } : {}) };
}

// ---------------------------------------------------------------- mutations

/** Control and odd characters, as raw JSON escapes (lone surrogates as `\ud800`) and as percent-encoded UTF-8 or CESU bytes. */
export const CONTROLS = [
  { name: 'NUL', json: '\\u0000', url: '%00' },
  { name: 'BEL', json: '\\u0007', url: '%07' },
  { name: 'ESC', json: '\\u001b', url: '%1B' },
  { name: 'DEL', json: '\\u007f', url: '%7F' },
  { name: 'U+202E', json: '\\u202e', url: '%E2%80%AE' },
  { name: 'U+2028', json: '\\u2028', url: '%E2%80%A8' },
  { name: 'lone surrogate \\ud800', json: '\\ud800', url: '%ED%A0%80' },
  { name: 'lone surrogate \\udfff', json: '\\udfff', url: '%ED%BF%BF' },
  { name: 'U+FFFF', json: '\\uffff', url: '%EF%BF%BF' },
];

const INVALID_UTF8: { name: string; bytes: number[] }[] = [
  { name: '0xff byte', bytes: [0xff] },
  { name: 'overlong "/" (c0 af)', bytes: [0xc0, 0xaf] },
  { name: 'encoded surrogate (ed a0 80)', bytes: [0xed, 0xa0, 0x80] },
  { name: 'truncated sequence (e2 82)', bytes: [0xe2, 0x82] },
];

const OPERATORS = ['{"$gt":""}', '{"$ne":null}', '{"$regex":".*"}', '{"$where":"sleep(100)"}', '{"$in":[]}', '{"$exists":true}'];

const WRONG_TYPES: { name: string; raw: string; type: string }[] = [
  { name: 'number', raw: '123', type: 'number' },
  { name: 'negative number', raw: '-1', type: 'number' },
  { name: 'fraction', raw: '1.5', type: 'number' },
  { name: '1e400', raw: '1e400', type: 'number' },
  { name: '2^53+1', raw: '9007199254740993', type: 'number' },
  { name: 'boolean', raw: 'true', type: 'boolean' },
  { name: 'null', raw: 'null', type: 'null' },
  { name: 'empty array', raw: '[]', type: 'array' },
  { name: 'array of strings', raw: '["a","b"]', type: 'array' },
  { name: 'object', raw: '{"a":1}', type: 'object' },
  { name: 'empty object', raw: '{}', type: 'object' },
  { name: 'string', raw: '"text"', type: 'string' },
  { name: 'empty string', raw: '""', type: 'string' },
  { name: 'blank string', raw: '"   "', type: 'string' },
];

const typeOf = (v: Value) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const EXTRA_FIELDS: { name: string; raw: string }[] = [
  { name: 'orgId', raw: '"__OTHER_ORG__"' },
  { name: '_id', raw: '"00000000-0000-4000-8000-000000000000"' },
  { name: 'id', raw: '"00000000-0000-4000-8000-000000000000"' },
  { name: 'createdBy', raw: '"someone"' },
  { name: 'role', raw: '"admin"' },
  { name: 'isAdmin', raw: 'true' },
  { name: '$where', raw: '"1"' },
  { name: '', raw: '1' },
  { name: 'a.b', raw: '1' },
];

const PROTO_BODIES = [
  { name: '__proto__ at the top', key: '__proto__', raw: '{"role":"admin","polluted":true}' },
  { name: 'constructor.prototype at the top', key: 'constructor', raw: '{"prototype":{"polluted":true}}' },
  { name: 'prototype at the top', key: 'prototype', raw: '{"polluted":true}' },
];

const PROTO_QUERIES = ['__proto__[polluted]=1', 'constructor[prototype][polluted]=1', '__proto__=x', 'constructor=x', 'toString=x', 'hasOwnProperty=x'];

const CONTENT_TYPES: { name: string; type: string | null; body?: string; headers?: Record<string, string> }[] = [
  { name: 'text/plain', type: 'text/plain' },
  { name: 'form', type: 'application/x-www-form-urlencoded', body: 'a=1&b=2' },
  { name: 'multipart', type: 'multipart/form-data; boundary=x', body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n' },
  { name: 'xml', type: 'application/xml', body: '<a>1</a>' },
  { name: 'no content type', type: null },
  { name: 'json; charset=utf-16', type: 'application/json; charset=utf-16' },
  { name: 'json; charset=latin1', type: 'application/json; charset=latin1' },
  { name: 'merge-patch+json', type: 'application/merge-patch+json' },
  { name: 'application/jsonx', type: 'application/jsonx' },
  { name: '*/*', type: '*/*' },
  { name: 'gzip that is not gzip', type: 'application/json', headers: { 'content-encoding': 'gzip' } },
  { name: 'unknown content encoding', type: 'application/json', headers: { 'content-encoding': 'compress' } },
];

const MALFORMED: { name: string; make: (valid: string) => string }[] = [
  { name: 'truncated', make: (v) => v.slice(0, Math.max(1, Math.floor(v.length / 2))) },
  { name: 'trailing comma', make: (v) => (v.length > 2 ? `${v.slice(0, -1)},}` : '{"a":1,}') },
  { name: 'single quotes', make: () => "{'kind':'letter'}" },
  { name: 'unquoted keys', make: () => '{kind:1}' },
  { name: 'extra closing brace', make: (v) => `${v}}` },
  { name: 'two documents', make: (v) => `${v}${v}` },
  { name: 'comment', make: (v) => `/* c */${v}` },
  { name: 'BOM', make: (v) => `\ufeff${v}` },
  { name: 'NaN', make: () => 'NaN' },
  { name: 'hex number', make: () => '{"quantity":0x10}' },
  { name: 'top-level null', make: () => 'null' },
  { name: 'top-level array', make: () => '[]' },
  { name: 'top-level string', make: () => '"text"' },
  { name: 'top-level number', make: () => '1' },
  { name: 'empty body', make: () => '' },
  { name: 'whitespace only', make: () => ' \n\t ' },
  { name: 'raw NUL byte', make: (v) => `${v.slice(0, 1)}\u0000${v.slice(1)}` },
  { name: 'deep nesting', make: () => `${'['.repeat(5000)}${']'.repeat(5000)}` },
];

/** Path segments for an id (already percent-encoded). `real` is a valid value of the parameter. */
function badIds(real: string, rng: Rng): { name: string; raw: string }[] {
  return [
    { name: 'not a uuid', raw: 'not-a-uuid' },
    { name: '"1"', raw: '1' },
    { name: '"-1"', raw: '-1' },
    { name: '"null"', raw: 'null' },
    { name: 'unknown uuid', raw: rng.uuid() },
    { name: 'nil uuid', raw: '00000000-0000-0000-0000-000000000000' },
    { name: 'max uuid', raw: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
    { name: 'upper-case id', raw: real.toUpperCase() },
    { name: 'id with a suffix', raw: `${real}x` },
    { name: 'id with an encoded NUL', raw: `${real}%00` },
    { name: 'id with an encoded slash and dots', raw: `${real}%2F..` },
    { name: '..%2f..%2fopenapi.json', raw: '..%2f..%2fopenapi.json' },
    { name: '..%2F..%2Fv1%2Fusers', raw: '..%2F..%2Fv1%2Fusers' },
    { name: '%2e%2e', raw: '%2e%2e' },
    { name: '".."', raw: '..' },
    { name: 'very long (6000)', raw: 'a'.repeat(6000) },
    { name: 'malformed percent-encoding %E0%A4%A', raw: '%E0%A4%A' },
    { name: 'lone %', raw: '%' },
    { name: '%FF', raw: '%FF' },
    { name: 'overlong %C0%AF', raw: '%C0%AF' },
    { name: 'encoded operator', raw: encodeURIComponent('{"$gt":""}') },
    { name: '__proto__', raw: '__proto__' },
    { name: 'constructor', raw: 'constructor' },
    { name: 'toString', raw: 'toString' },
    { name: 'encoded space', raw: '%20' },
  ];
}

/** The path parameters that name an org's resource, and org B's id for each. */
const ID_PARAMS = [
  'personId',
  'mailItemId',
  'channelId',
  'noteId',
  'attachmentId',
  'checkId',
  'userId',
  'tokenId',
  'requestId',
  'exchangeId',
  'draftId',
  'accessId',
  'noticeId',
] as const satisfies readonly (keyof OrgIds)[];
const isIdParam = (name: string): name is keyof OrgIds => (ID_PARAMS as readonly string[]).includes(name);

/** One request to make: a mutation of a fresh valid draft. Returns null when it does not apply to that draft. */
type Task = { mutation: string; apply: (d: Draft, c: GenContext) => string | null };
type AddTask = (mutation: string, apply: (d: Draft, c: GenContext) => string | null | void) => void;

/** The largest upload when ATTACHMENT_MAX_BYTES keeps its documented default (10 MiB), as the fuzz's stacks do. */
const UPLOAD_MAX_BYTES = 10 * 1024 * 1024;

/** Files of types read from their bytes but not allowed. */
const REFUSED_FILES: { name: string; file: SampleFile }[] = [
  {
    name: 'an executable',
    file: { filename: 'setup.exe', contentType: 'application/x-msdownload', bytes: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(254)]) },
  },
  {
    name: 'a zip archive',
    // A local file header for one stored file "a.txt" holding "hello".
    file: {
      filename: 'pieces.zip',
      contentType: 'application/zip',
      bytes: Buffer.from('504b0304140000000000000000000000000005000000050000000500000061' + '2e74787468656c6c6f', 'hex'),
    },
  },
  {
    name: 'a GIF image',
    file: { filename: 'scan.gif', contentType: 'image/gif', bytes: Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64') },
  },
  { name: 'text sent as application/pdf', file: { filename: 'lettre.pdf', contentType: 'application/pdf', bytes: Buffer.from('Ceci n’est pas un PDF.\n') } },
  {
    name: 'binary bytes sent as text/plain',
    file: { filename: 'notes.txt', contentType: 'text/plain', bytes: Buffer.from([0x00, 0xff, 0x13, 0x37, 0x00, 0x80, 0x81]) },
  },
];

/** The bytes a percent-encoded string stands for (CONTROLS' URL form). */
const percentBytes = (url: string) => Buffer.from(url.replace(/%/g, ''), 'hex');

/**
 * What a form can get wrong beyond its fields' values (the gateway reads it part by part): the order and
 * names of its parts, the file's name and type, truncated or mislabelled bodies. Each is refused (4xx) with
 * nothing stored, except a few a tolerant reader takes (a skipped headerless part, a path in the file name).
 */
function formTasks(form: NonNullable<FuzzOperation['form']>, add: AddTask): void {
  const file = (d: Draft) => d.form!.find((p) => p.name === form.file)!;
  const insertBeforeFile = (d: Draft, ...parts: FormPart[]) => d.form!.splice(d.form!.indexOf(file(d)), 0, ...parts);
  const setFile = (changes: Partial<FormPart>) => (d: Draft) => void Object.assign(file(d), changes);
  const fieldName = Object.keys(form.fields.properties ?? {})[0];

  add('form: the file in a part named "document"', setFile({ name: 'document' }));
  add('form: no file part', (d) => void d.form!.splice(d.form!.indexOf(file(d)), 1));
  add('form: two file parts', (d) => void d.form!.push({ ...file(d) }));
  add('form: the file as a text part (no filename)', setFile({ filename: undefined, contentType: undefined, value: 'bonjour' }));
  add('form: a file part without a filename (application/octet-stream)', setFile({ filename: undefined, contentType: 'application/octet-stream' }));
  add('form: 12 text parts', (d) => void insertBeforeFile(d, ...Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, value: 'x' }))));
  for (const name of ['orgId', 'partyId', 'uploadedBy', 'sha256', '__proto__', 'constructor', '']) {
    add(
      `form: extra text part "${name}"`,
      (d, c) => void insertBeforeFile(d, { name, value: name === 'partyId' || name === 'orgId' ? c.fx.other.orgId : 'x' }),
    );
  }
  add('form: a part without Content-Disposition', (d) => void insertBeforeFile(d, { name: '', headerRaw: 'Content-Type: text/plain', value: 'stray' }));
  add(
    'form: a part header of 20,000 bytes',
    setFile({ headerRaw: `Content-Disposition: form-data; name="${form.file}"; filename="a.pdf"\r\nX-Padding: ${'p'.repeat(20_000)}` }),
  );

  if (fieldName) {
    const maxLength = form.fields.properties![fieldName].maxLength ?? 1000;
    const field = (d: Draft, value: string | Buffer, contentType?: string) => {
      const existing = d.form!.find((p) => p.name === fieldName);
      if (existing) Object.assign(existing, { value, contentType });
      else insertBeforeFile(d, { name: fieldName, value, contentType });
    };
    add(`form: ${fieldName} after the file`, (d) => {
      const part = d.form!.find((p) => p.name === fieldName) ?? { name: fieldName, value: 'Pièce du dossier' };
      d.form = [...d.form!.filter((p) => p !== part), part];
    });
    add(`form: ${fieldName} given twice`, (d) => void insertBeforeFile(d, { name: fieldName, value: 'une' }, { name: fieldName, value: 'deux' }));
    add(`form: ${fieldName} of ${maxLength + 1} characters`, (d) => field(d, 'é'.repeat(maxLength + 1)));
    add(`form: ${fieldName} of 20,000 characters`, (d) => field(d, 'x'.repeat(20_000)));
    add(`form: ${fieldName} in latin-1, declared`, (d) => field(d, Buffer.from('Pi\u00e8ce', 'latin1'), 'text/plain; charset=latin1'));
    for (const ctl of CONTROLS)
      add(`form: ${ctl.name} in ${fieldName}`, (d) => field(d, Buffer.concat([Buffer.from('Pièce '), percentBytes(ctl.url), Buffer.from(' jointe')])));
    for (const u of INVALID_UTF8)
      add(`form: invalid UTF-8 (${u.name}) in ${fieldName}`, (d) => field(d, Buffer.concat([Buffer.from('Pi'), Buffer.from(u.bytes), Buffer.from('ce')])));
  }

  add('form: empty file name', setFile({ filename: '' }));
  add('form: file name ".."', setFile({ filename: '..' }));
  add('form: file name with a path', setFile({ filename: '../../etc/passwd.pdf' }));
  add('form: file name of 300 characters', setFile({ filename: `${'n'.repeat(296)}.pdf` }));
  add('form: file name with a quote and a parameter', setFile({ filename: 'a.pdf"; name="other' }));
  for (const ctl of [...CONTROLS, { name: 'LF', url: '%0A' }, { name: 'TAB', url: '%09' }]) {
    add(`form: ${ctl.name} in the file name (filename*)`, setFile({ filenameStar: `note${ctl.url}.pdf` }));
  }
  for (const u of INVALID_UTF8) {
    add(
      `form: invalid UTF-8 (${u.name}) in the file name`,
      setFile({ filename: Buffer.concat([Buffer.from('pi'), Buffer.from(u.bytes), Buffer.from('ce.pdf')]) }),
    );
  }

  for (const refused of REFUSED_FILES) add(`form: ${refused.name}`, setFile({ ...refused.file, value: refused.file.bytes }));
  add('form: an empty file', setFile({ value: Buffer.alloc(0) }));
  add(
    'form: a PDF one byte past 10 MiB',
    setFile({
      filename: 'big.pdf',
      contentType: 'application/pdf',
      value: Buffer.concat([samplePdf(), Buffer.alloc(UPLOAD_MAX_BYTES + 1 - samplePdf().length)]),
    }),
  );

  add('form: body cut in the middle of the file', (d) => {
    const body = formBody(d.form!);
    const bytes = Buffer.from(file(d).value);
    d.bodyRaw = body.subarray(0, body.indexOf(bytes) + Math.floor(bytes.length / 2));
  });
  add('form: body without its closing boundary', (d) => void (d.bodyRaw = formBody(d.form!).subarray(0, -`--${FORM_BOUNDARY}--\r\n`.length)));
  add('form: empty body', (d) => void (d.bodyRaw = Buffer.alloc(0)));
  add('form: no boundary in the Content-Type', (d) => void (d.contentType = 'multipart/form-data'));
  add("form: another boundary than the body's", (d) => void (d.contentType = 'multipart/form-data; boundary=other'));
  add('form: JSON sent instead', (d) => {
    d.contentType = 'application/json';
    d.bodyRaw = Buffer.from(JSON.stringify({ description: 'x', file: Buffer.from(file(d).value).toString('base64') }));
  });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/mixed; boundary=x', null]) {
    add(`form: sent as ${type ?? 'no content type'}`, (d) => void (d.contentType = type));
  }
  add('form: Content-Encoding gzip on a form that is not gzip', (d) => void (d.headers['content-encoding'] = 'gzip'));
  add('form: with an Idempotency-Key', (d, c) => void (d.headers['idempotency-key'] = `fuzz-${c.seed}-${c.unique()}`));
}

/**
 * Every mutation that applies to an operation, with `ref` (a draft with every optional field) telling which
 * places exist. Each task builds a fresh draft and names what it did (the mutation label of a failure report).
 */
function tasksFor(op: FuzzOperation, ref: Draft, rng: Rng): Task[] {
  const tasks: Task[] = [];
  const add = (mutation: string, apply: (d: Draft, c: GenContext) => string | null | void) =>
    tasks.push({ mutation, apply: (d, c) => (apply(d, c) === null ? null : mutation) });
  const hasBody = op.body !== null;
  const places = leaves(ref);
  const stringPlaces = places.filter((p) => typeof getAt(ref, p) === 'string');
  const exists = (d: Draft, p: Place) => getAt(d, p) !== undefined;

  for (let i = 0; i < 3; i++) add('valid', () => {});
  if (op.idempotent) {
    for (let i = 0; i < 2; i++) add('valid, with a reused Idempotency-Key', (d, c) => void (d.headers['idempotency-key'] = `fuzz-${c.seed}-${c.rng.int(6)}`));
    add('Idempotency-Key of 201 characters', (d) => void (d.headers['idempotency-key'] = 'k'.repeat(201)));
    add('Idempotency-Key with a latin-1 byte', (d) => void (d.headers['idempotency-key'] = 'cl\u00e9'));
  }

  for (const p of stringPlaces) {
    for (const ctl of CONTROLS) {
      add(`${ctl.name} in ${placeName(p)}`, (d, c) => {
        const m = marker('c');
        d.inString.set(m, ctl);
        insertMarker(d, ref, p, m, c.rng);
      });
    }
    if (p.in === 'body') {
      const u = rng.pick(INVALID_UTF8);
      add(`invalid UTF-8 (${u.name}) in ${placeName(p)}`, (d, c) => {
        const m = marker('b');
        d.bytes.set(m, Buffer.from(u.bytes));
        insertMarker(d, ref, p, m, c.rng);
      });
    }
    // A URL stays under Node's 16 kB header limit (beyond it Node resets the connection before any route runs).
    const huge = rng.pick(
      p.in === 'body'
        ? [
            { name: 'string of 100,000 characters', value: () => 'x'.repeat(100_000) },
            { name: 'string of 120,000 "é"', value: () => 'é'.repeat(120_000) },
            { name: 'string of 300,000 characters', value: () => 'y'.repeat(300_000) },
          ]
        : [
            { name: 'string of 10,000 characters', value: () => 'x'.repeat(10_000) },
            { name: 'string of 2,000 "é"', value: () => 'é'.repeat(2_000) },
          ],
    );
    add(`${huge.name} in ${placeName(p)}`, (d) => put(d, ref, p, huge.value()));
    add(`1,001 characters in ${placeName(p)}`, (d) => put(d, ref, p, 'z'.repeat(1001)));
  }

  for (const p of places) {
    const current = typeOf(getAt(ref, p));
    const wrong = WRONG_TYPES.filter((w) => w.type !== current);
    for (const w of [rng.pick(wrong), rng.pick(wrong)]) {
      add(`wrong type (${w.name}) in ${placeName(p)}`, (d) => {
        if (p.in === 'query') {
          setAt(d, p, JSON.parse(w.raw));
          return;
        }
        const m = marker('v');
        d.rawValues.set(m, w.raw);
        put(d, ref, p, m);
      });
    }
    const operator = rng.pick(OPERATORS);
    add(`operator ${operator} in ${placeName(p)}`, (d) => {
      if (p.in === 'query') {
        // The query string can only carry it as a key (`name[$gt]=`) or as text.
        d.queryRaw = `${encodeURIComponent(`${p.name}[$gt]`)}=&${p.name}=${encodeURIComponent(operator)}`;
        return;
      }
      const m = marker('v');
      d.rawValues.set(m, operator);
      put(d, ref, p, m);
    });
  }

  const required = new Set([...(op.body?.required ?? []), ...op.query.filter((q) => q.required).map((q) => q.name)]);
  for (const name of required) {
    const place: Place = op.query.some((q) => q.name === name) ? { in: 'query', name } : { in: 'body', at: [name] };
    add(`missing required ${placeName(place)}`, (d) => deleteAt(d, place));
  }
  for (const p of places.filter((x) => x.in === 'body' && x.at.length > 1)) {
    add(`missing nested ${placeName(p)}`, (d) => (exists(d, p) ? deleteAt(d, p) : null));
  }
  for (const c of containers(ref, false)) {
    add(`array of 501 copies at ${placeName(c)}`, (d) => {
      const v = getAt(d, c);
      if (!Array.isArray(v) || v.length === 0) return null;
      setAt(
        d,
        c,
        Array.from({ length: 501 }, () => v[0]),
      );
    });
    add(`array of 20,000 zeros at ${placeName(c)}`, (d) => put(d, ref, c, new Array(20_000).fill(0)));
  }

  if (op.form) {
    formTasks(op.form, add);
  } else if (hasBody) {
    for (const extra of [rng.pick(EXTRA_FIELDS), rng.pick(EXTRA_FIELDS)]) {
      add(`extra field "${extra.name}"`, (d, c) => {
        if (!d.body || typeof d.body !== 'object') return null;
        const m = marker('v');
        d.rawValues.set(m, extra.raw.replace('__OTHER_ORG__', c.fx.other.orgId));
        (d.body as Record<string, Value>)[extra.name] = m;
      });
    }
    for (const proto of PROTO_BODIES) {
      add(proto.name, (d) => {
        const body = serialiseBody(d)!.toString('utf8');
        d.bodyRaw = Buffer.from(body.replace(/^\{/, `{"${proto.key}":${proto.raw}${body === '{}' ? '' : ','}`));
      });
    }
    const nested = containers(ref, true).filter((p) => !Array.isArray(getAt(ref, p)));
    for (const p of nested) {
      add(`__proto__ in the object at ${placeName(p)}`, (d) => {
        const obj = getAt(d, p);
        if (!obj || typeof obj !== 'object') return null;
        const m = marker('v');
        d.rawValues.set(m, '{"polluted":true}');
        (obj as Record<string, Value>).__proto__x = m;
        d.bodyRaw = Buffer.from(serialiseBody(d)!.toString('utf8').replace('"__proto__x"', '"__proto__"'));
      });
    }
    for (const ct of CONTENT_TYPES) {
      add(`content type: ${ct.name}`, (d) => {
        d.contentType = ct.type;
        if (ct.body !== undefined) d.bodyRaw = Buffer.from(ct.body);
        Object.assign(d.headers, ct.headers ?? {});
      });
    }
    for (const bad of MALFORMED) {
      add(`malformed JSON: ${bad.name}`, (d) => void (d.bodyRaw = Buffer.from(bad.make(serialiseBody(d)!.toString('utf8')))));
    }
    add('invalid UTF-8 outside strings', (d) => void (d.bodyRaw = Buffer.concat([Buffer.from('{'), Buffer.from([0xff, 0xfe]), Buffer.from('}')])));
  } else {
    add('GET/DELETE with a JSON body', (d, c) => {
      d.body = { personId: c.fx.other.personId, $where: '1' };
      d.contentType = 'application/json';
    });
  }

  if (op.method === 'get' || op.method === 'delete') {
    add('unknown query parameter', (d) => void (d.query.fuzz = 'x'));
    add('repeated query parameter', (d) => {
      const name = op.query[0]?.name ?? 'limit';
      d.query[name] = ['1', '2'];
    });
    add('2,000 query parameters', (d) => void (d.queryRaw = Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join('&')));
    add('malformed query escapes', (d) => void (d.queryRaw = 'a=%ZZ&%=1&b=%E0%A4%A&&=&'));
    for (const q of PROTO_QUERIES) add(`query ${q}`, (d) => void (d.queryRaw = q));
  }

  for (const p of op.pathParams) {
    const real = ref.pathValues[p.name];
    for (const bad of badIds(real, rng)) {
      add(`${bad.name} as path ${p.name}`, (d) => void (d.pathRaw[p.name] = bad.raw));
    }
    add(`empty path ${p.name}`, (d) => void (d.pathRaw[p.name] = ''));
    for (const ctl of CONTROLS) add(`${ctl.name} in path ${p.name}`, (d) => void (d.pathRaw[p.name] = `${encodeURIComponent(d.pathValues[p.name])}${ctl.url}`));
    const name = p.name;
    if (isIdParam(name)) {
      add(`another org's id as path ${name}`, (d, c) => {
        d.pathRaw[name] = c.fx.other[name];
        d.otherOrg = true;
      });
    }
  }

  if (op.security !== 'none') {
    add('no Authorization header', (d) => void (d.token = null));
    add('unknown well-formed token', (d, c) => void (d.headers.authorization = `Bearer rl_${'A'.repeat(11)}${c.rng.uuid().replace(/-/g, '')}`));
    add('Basic credentials', (d) => void (d.headers.authorization = 'Basic dXNlcjpwYXNz'));
    add('Bearer with 4,000 characters', (d) => void (d.headers.authorization = `Bearer ${'t'.repeat(4000)}`));
    if (op.security === 'platform') add("an org admin's token on a platform route", (d, c) => void (d.token = c.fx.tokens.admin));
    if (op.security === 'bearer') add('the platform token on an org route', (d, c) => void (d.token = c.fx.platformToken));
    if (op.security === 'bearer') add("another org's admin token", (d, c) => void (d.token = c.fx.other.adminToken));
    if (op.security === 'portal') add('a staff API token on a portal route', (d, c) => void (d.token = c.fx.tokens.admin));
    if (op.security === 'portal') add("another org's portal token", (d, c) => void (d.token = c.fx.other.portalToken));
    if (op.security === 'bearer') add('a portal token on a staff route', (d, c) => void (d.token = c.fx.portalToken));
    const refused = op.security === 'bearer' ? ROLES.filter((r) => op.roles && !op.roles.includes(r)) : [];
    for (const role of refused) add(`role ${role} (not allowed)`, (d, c) => void (d.token = c.fx.tokens[role]));
  }

  const wrongMethods = METHODS.filter((m) => !op.pathMethods.includes(m));
  if (wrongMethods.length > 0) {
    const m = rng.pick(wrongMethods);
    add(`method ${m.toUpperCase()} (not mounted)`, (d) => void (d.method = m.toUpperCase()));
  }
  return tasks;
}

export interface GenerateOptions {
  seed: number;
  /**
   * Requests in all: first the sweep (every mutation of every operation, shuffled), then random picks: a valid
   * request a quarter of the time (so acknowledged writes keep coming), else any mutation.
   */
  count: number;
}

/** How many requests one sweep over every mutation of every operation takes (for choosing `count`). */
export function sweepSize(ops: FuzzOperation[], fx: Fixture, seed: number): number {
  return plan(ops, fx, seed).length;
}

function plan(ops: FuzzOperation[], fx: Fixture, seed: number): { op: FuzzOperation; task: Task }[] {
  const rng = new Rng(seed);
  let unique = 0;
  const all: { op: FuzzOperation; task: Task }[] = [];
  for (const op of ops) {
    const ref = validDraft(op, { rng, fx, op, path: {}, full: true, unique: () => unique++, seed });
    for (const task of tasksFor(op, ref, rng)) all.push({ op, task });
  }
  return all;
}

/**
 * The requests of a run, generated lazily (huge bodies are not all held at once). The sequence depends only
 * on the seed, the document and the fixture, never on answers: a failure names its request by number.
 */
export function* fuzzRequests(ops: FuzzOperation[], fx: Fixture, { seed, count }: GenerateOptions): Generator<FuzzRequest> {
  const all = plan(ops, fx, seed);
  const rng = new Rng(seed ^ 0x9e3779b9);
  const sweep = rng.shuffle([...all]);
  const valid = all.filter((t) => t.task.mutation === 'valid');
  let unique = 1_000_000;
  let swept = 0;
  for (let n = 1; n <= count;) {
    const { op, task } = swept < sweep.length ? sweep[swept++] : rng.chance(0.25) ? rng.pick(valid) : rng.pick(all);
    // A task that needs an optional field a fresh draft left out gets a few more drafts, then is passed over.
    for (let attempt = 0; attempt < 4; attempt++) {
      const c: GenContext = { rng, fx, op, path: {}, full: false, unique: () => unique++, seed };
      const d = validDraft(op, c);
      const mutation = task.apply(d, { ...c, path: d.pathValues });
      if (mutation === null) continue;
      yield serialise(op, d, n++, mutation);
      break;
    }
  }
}

/** The valid request of an operation, with the ids of `fx` (the isolation test uses another org's as its own). */
export function validRequest(op: FuzzOperation, fx: Fixture, seed: number, token: string): FuzzRequest {
  const rng = new Rng(seed);
  let unique = 0;
  const d = validDraft(op, { rng, fx, op, path: {}, full: false, unique: () => unique++, seed });
  d.token = token;
  return serialise(op, d, 0, 'valid');
}

// ---------------------------------------------------------------- checking answers

export type FailureKind =
  'server error' | 'no answer' | 'not a problem document' | 'not the documented success body' | "another org's id answered 2xx" | 'acknowledged but missing';

export interface Failure {
  kind: FailureKind;
  n: number;
  route: string;
  mutation: string;
  status: number;
  detail: string;
}

const snippet = (s: string) => (s.length > 160 ? `${s.slice(0, 160)}...` : s);

/** What is wrong with one answer, if anything. */
export function checkReply(req: FuzzRequest, reply: RawReply): Failure | null {
  const base = { n: req.n, route: req.op.route, mutation: req.mutation, status: reply.status };
  if (reply.status === 0) return { ...base, kind: 'no answer', detail: reply.error ?? 'no answer' };
  if (reply.status >= 500) return { ...base, kind: 'server error', detail: snippet(reply.text) };
  if (reply.status >= 200 && reply.status < 300 && req.otherOrg) return { ...base, kind: "another org's id answered 2xx", detail: snippet(reply.text) };
  if (reply.status >= 400) {
    const body = reply.json as { status?: unknown; title?: unknown; detail?: unknown } | undefined;
    const wrong = [
      !/^application\/problem\+json/.test(reply.contentType) && `content type "${reply.contentType}"`,
      body?.status !== reply.status && `status ${JSON.stringify(body?.status)}`,
      (typeof body?.title !== 'string' || !body.title) && 'no title',
      (typeof body?.detail !== 'string' || !body.detail) && 'no detail',
    ].filter(Boolean);
    if (wrong.length > 0) return { ...base, kind: 'not a problem document', detail: `${wrong.join(', ')}: ${snippet(reply.text)}` };
  }
  if (reply.status >= 200 && reply.status < 300 && reply.status !== 204) {
    const wrong = successProblem(req.op, reply);
    if (wrong) return { ...base, kind: 'not the documented success body', detail: `${wrong}: ${snippet(reply.text)}` };
  }
  return null;
}

/** What is wrong with a success body given what the operation documents: JSON, or a download's bytes (whatever their type). */
function successProblem(op: FuzzOperation, reply: RawReply): string | null {
  if (op.produces === 'application/json') {
    return /^application\/json/.test(reply.contentType) && reply.json !== undefined ? null : `not JSON (content type "${reply.contentType}")`;
  }
  if (op.produces === 'application/octet-stream') {
    const length = reply.headers['content-length'];
    if (length !== String(reply.bytes.length)) return `a download of ${reply.bytes.length} bytes with Content-Length ${length}`;
    if (!/^attachment; /.test(String(reply.headers['content-disposition'] ?? ''))) return `a download without Content-Disposition: attachment`;
    if (reply.headers['x-content-type-options'] !== 'nosniff') return 'a download without X-Content-Type-Options: nosniff';
  }
  return null;
}

/** An acknowledged write, to read back once the run is over. */
export interface Ack {
  n: number;
  route: string;
  mutation: string;
  what: string;
  /** The bearer token of the request: the write is read back by an admin of the org it was made in. */
  writer: string | undefined;
  /** null when it reads back as acknowledged, else what is wrong; `admin` is an admin token of the writer's org. */
  verify(client: RawClient, admin: string): Promise<string | null>;
}

/** An exchange recorded, read back in its request's history (a tombstone, if a later request deleted it, is still there). */
function exchangeAck(body: { id: string; requestId: string }): Pick<Ack, 'what' | 'verify'>[] {
  return [
    {
      what: `exchange ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/intervention-requests/${body.requestId}/exchanges`, admin);
        if (r.status !== 200) return `GET /v1/intervention-requests/${body.requestId}/exchanges answered ${r.status}`;
        return (r.json as { items: { id: string }[] }).items.some((x) => x.id === body.id) ? null : 'not in the history';
      },
    },
  ];
}

type MailItem = { id: string; personId: string; kind: string; quantity: number; sender?: string; note?: string; registeredAt: string; registeredBy: string };

function mailAck(item: MailItem): Ack['verify'] {
  return async (client, admin) => {
    const byId = await client.json('GET', `/v1/mail/${item.id}`, admin);
    if (byId.status !== 200) return `GET /v1/mail/${item.id} answered ${byId.status}`;
    const stored = byId.json as MailItem;
    const fields = ['personId', 'kind', 'quantity', 'sender', 'note', 'registeredAt', 'registeredBy'] as const;
    const differ = fields.filter((f) => JSON.stringify(stored[f]) !== JSON.stringify(item[f]));
    if (differ.length > 0)
      return `GET /v1/mail/${item.id} differs in ${differ.map((f) => `${f} (${JSON.stringify(item[f])} -> ${JSON.stringify(stored[f])})`).join(', ')}`;
    const list = await client.json('GET', `/v1/people/${item.personId}/mail`, admin);
    const items = (list.json as { items?: { id: string }[] } | undefined)?.items ?? [];
    if (list.status !== 200 || !items.some((i) => i.id === item.id)) return `not in GET /v1/people/${item.personId}/mail (${list.status})`;
    return null;
  };
}

type AttachmentAck = { id: string; partyId: string; size: number; sha256: string };

/** A check made on demand, whoever its subject: listed in its party's screening log (checks are never deleted). */
type ScreeningCheck = { id: string; at: string; subject: { partyId: string } };
const checkListed = (body: ScreeningCheck): Pick<Ack, 'what' | 'verify'> => ({
  what: `screening check ${body.id}`,
  async verify(client, admin) {
    // Checks are never deleted: page until this one.
    for (let cursor: string | null = null, pages = 0; pages < 50; pages++) {
      const path = `/v1/parties/${body.subject.partyId}/screening?limit=200${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await client.json('GET', path, admin);
      if (r.status !== 200) return `GET ${path} answered ${r.status}`;
      const page = r.json as { items: { id: string; at: string }[]; nextCursor: string | null };
      const found = page.items.find((x) => x.id === body.id);
      if (found) return found.at === body.at ? null : 'its date differs';
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return 'not listed';
  },
});

/**
 * How each creating operation's acknowledgement (and the request it answers) is read back. An operation that
 * answers 201 and is not listed here is reported, so a new creating route cannot go unchecked. Each reader
 * names the acknowledgement it reads, so the table's parameter is `never`, which every reader accepts.
 */
const READ_BACK: Record<string, (body: never, req: FuzzRequest) => Pick<Ack, 'what' | 'verify'>[]> = {
  'contacts.createPerson': (body: { id: string; createdAt: string }) => [
    {
      what: `person ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/people/${body.id}`, admin);
        if (r.status !== 200) return `GET /v1/people/${body.id} answered ${r.status}`;
        return (r.json as { createdAt?: string }).createdAt === body.createdAt ? null : 'createdAt differs';
      },
    },
  ],
  'domiciliation.request': (body: { id: string; personId: string }) => [
    {
      what: `domiciliation ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/people/${body.personId}/domiciliation`, admin);
        if (r.status !== 200) return `GET /v1/people/${body.personId}/domiciliation answered ${r.status}`;
        return (r.json as { id?: string }).id === body.id ? null : `another domiciliation (${(r.json as { id?: string }).id}) is there`;
      },
    },
  ],
  'contacts.recordContactAction': (body: { id: string; partyId: string }) => [
    {
      what: `contact action ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/parties/${body.partyId}/contact-actions?limit=200`, admin);
        if (r.status !== 200) return `GET /v1/parties/${body.partyId}/contact-actions answered ${r.status}`;
        return (r.json as { items: { id: string }[] }).items.some((a) => a.id === body.id) ? null : 'not listed';
      },
    },
  ],
  'exchanges.createRequest': (body: { id: string; number: string }) => [
    {
      what: `intervention request ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/intervention-requests/${body.id}`, admin);
        if (r.status !== 200) return `GET /v1/intervention-requests/${body.id} answered ${r.status}`;
        return (r.json as { number?: string }).number === body.number ? null : 'another number';
      },
    },
  ],
  'gateway.portal.grant': (body: { id: string; clientId: string }) => [
    {
      what: `portal access ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/parties/${body.clientId}/portal-access`, admin);
        if (r.status !== 200) return `GET /v1/parties/${body.clientId}/portal-access answered ${r.status}`;
        return (r.json as { items: { id: string }[] }).items.some((a) => a.id === body.id) ? null : 'not listed';
      },
    },
  ],
  'exchanges.portalPost': (body: { id: string }, req) => {
    const requestId = /\/v1\/portal\/requests\/([^/]+)\/exchanges/.exec(req.path)?.[1] ?? '';
    return exchangeAck({ id: body.id, requestId });
  },
  'exchanges.recordSent': exchangeAck,
  'exchanges.recordReceived': exchangeAck,
  'exchanges.sendEmail': exchangeAck,
  'exchanges.saveDraft': (body: { id: string }, req) => [
    {
      what: `draft ${body.id}`,
      async verify(client) {
        // A draft is its author's alone: read back with the writer's token.
        const writer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
        const r = await client.json('GET', `/v1/drafts/${body.id}`, writer);
        return r.status === 200 ? null : `GET /v1/drafts/${body.id} answered ${r.status}`;
      },
    },
  ],
  'contacts.createCompany': (body: { id: string }) => [
    {
      what: `company ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/companies/${body.id}`, admin);
        return r.status === 200 ? null : `GET /v1/companies/${body.id} answered ${r.status}`;
      },
    },
  ],
  'contacts.addDebtor': (body: { id: string; debtors: { partyId: string }[] }) => [
    {
      what: `debtors of file ${body.id}`,
      async verify(client, admin) {
        // A later request of the run may have taken a debtor off on purpose; the file itself must be there.
        const r = await client.json('GET', `/v1/parties/${body.id}`, admin);
        return r.status === 200 ? null : `GET /v1/parties/${body.id} answered ${r.status}`;
      },
    },
  ],
  'contacts.addChannel': (body: { id: string; partyId: string; createdAt: string }) => [
    {
      what: `channel ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/parties/${body.partyId}/channels?showInvalid=true`, admin);
        if (r.status !== 200) return `GET /v1/parties/${body.partyId}/channels answered ${r.status}`;
        const items = (r.json as { items: { id: string }[] }).items;
        // A later request of the run may have removed it on purpose: its history still tells.
        if (items.some((ch) => ch.id === body.id)) return null;
        const h = await client.json('GET', `/v1/parties/${body.partyId}/channels/${body.id}/history`, admin);
        return h.status === 200 ? null : `not listed, and its history answered ${h.status}`;
      },
    },
  ],
  'contacts.createClientContact': (body: { number: number; partyId: string; createdAt: string }) => [
    {
      what: `client contact ${body.partyId}/${body.number}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/parties/${body.partyId}/contacts/${body.number}`, admin);
        if (r.status === 200) return (r.json as { createdAt?: string }).createdAt === body.createdAt ? null : 'its createdAt differs';
        // An admin request of the run may have deleted it: then its deletion is recorded.
        const d = await client.json('GET', `/v1/parties/${body.partyId}/contact-deletions`, admin);
        if (d.status !== 200) return `GET contact answered ${r.status}, contact-deletions ${d.status}`;
        const deleted = (d.json as { items: { number: number }[] }).items.some((i) => i.number === body.number);
        return deleted ? null : `GET contact answered ${r.status}, and no deletion is recorded`;
      },
    },
  ],
  'contacts.screenParty': (body: ScreeningCheck) => [checkListed(body)],
  'contacts.screenClientContact': (body: ScreeningCheck) => [checkListed(body)],
  'contacts.addNote': (body: { id: string; partyId: string; text: string }) => [
    {
      what: `note ${body.id}`,
      async verify(client, admin) {
        // Requests of the run delete only the fixture's notes, so a note created by one is still listed.
        for (let cursor: string | null = null, pages = 0; pages < 50; pages++) {
          const path = `/v1/parties/${body.partyId}/notes?limit=200${cursor ? `&cursor=${cursor}` : ''}`;
          const r = await client.json('GET', path, admin);
          if (r.status !== 200) return `GET ${path} answered ${r.status}`;
          const page = r.json as { items: { id: string; text: string }[]; nextCursor: string | null };
          const found = page.items.find((n) => n.id === body.id);
          if (found) return found.text === body.text ? null : 'its text differs';
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        return 'not listed';
      },
    },
  ],
  'contacts.uploadAttachment': (body: AttachmentAck, req) => [
    {
      what: `attachment ${body.id}`,
      async verify(client, admin) {
        const sent = req.upload;
        if (!sent) return 'acknowledged, but the request sent no file part';
        if (body.size !== sent.size || body.sha256 !== sent.sha256)
          return `acknowledged ${body.size} bytes (sha256 ${body.sha256}), sent ${sent.size} (${sent.sha256})`;
        // Requests of the run delete only the fixture's attachments, so one uploaded by a request is still listed.
        const base = `/v1/parties/${body.partyId}/attachments`;
        const list = await client.json('GET', base, admin);
        if (list.status !== 200) return `GET ${base} answered ${list.status}`;
        const listed = (list.json as { items: AttachmentAck[] }).items.find((a) => a.id === body.id);
        if (!listed) return 'not listed';
        if (JSON.stringify(listed) !== JSON.stringify(body)) return `listed as ${JSON.stringify(listed)}`;
        const content = await client.send({ method: 'GET', path: `${base}/${body.id}/content`, headers: { authorization: `Bearer ${admin}` } });
        if (content.status !== 200) return `GET ${base}/${body.id}/content answered ${content.status}`;
        const got = sha256(content.bytes);
        return got === sent.sha256 ? null : `downloaded ${content.bytes.length} bytes (sha256 ${got}), not the ${sent.size} sent`;
      },
    },
  ],
  'mail.register': (body: MailItem) => [{ what: `mail item ${body.id}`, verify: mailAck(body) }],
  'mail.registerBatch': (body: { results: ({ outcome: 'registered'; item: MailItem } | { outcome: 'refused' })[] }) =>
    body.results.flatMap((r) => (r.outcome === 'registered' ? [{ what: `mail item ${r.item.id} (round)`, verify: mailAck(r.item) }] : [])),
  'gateway.users.create': (body: { id: string; email: string }) => [
    {
      what: `user ${body.id}`,
      async verify(client, admin) {
        const r = await client.json('GET', `/v1/users/${body.id}`, admin);
        if (r.status !== 200) return `GET /v1/users/${body.id} answered ${r.status}`;
        return (r.json as { email?: string }).email === body.email ? null : 'email differs';
      },
    },
  ],
  'gateway.tokens.create': (body: { id: string; userId: string; token: string }) => [
    {
      what: `token ${body.id}`,
      async verify(client, admin) {
        const owner = await client.json('GET', `/v1/users/${body.userId}`, admin);
        if (owner.status !== 200) return `its user: GET /v1/users/${body.userId} answered ${owner.status}`;
        // A disabled user's tokens stop working on purpose; the requests may have disabled this one.
        if ((owner.json as { disabled?: boolean }).disabled) return null;
        const me = await client.json('GET', '/v1/me', body.token);
        if (me.status !== 200) return `GET /v1/me with it answered ${me.status}`;
        return (me.json as { user?: { id?: string } }).user?.id === body.userId ? null : 'it names another user';
      },
    },
  ],
  'gateway.orgs.create': (body: { org: { id: string }; token: { token: string } }) => [
    {
      what: `org ${body.org.id}`,
      async verify(client) {
        const me = await client.json('GET', '/v1/me', body.token.token);
        if (me.status !== 200) return `GET /v1/me with its admin token answered ${me.status}`;
        return (me.json as { org?: { id?: string } }).org?.id === body.org.id ? null : 'its admin token names another org';
      },
    },
  ],
};

/** The writes an answer acknowledges, or a failure when a creating route has no read-back. */
export function acknowledged(req: FuzzRequest, reply: RawReply): { acks: Ack[]; failure?: Failure } {
  const creates = reply.status === 201 || (reply.status === 200 && req.op.operationId === 'mail.registerBatch');
  if (!creates) return { acks: [] };
  const base = { n: req.n, route: req.op.route, mutation: req.mutation };
  const writer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const readBack = READ_BACK[req.op.operationId];
  if (!readBack) {
    return {
      acks: [],
      failure: { ...base, kind: 'acknowledged but missing', status: reply.status, detail: `no read-back is known for ${req.op.operationId}` },
    };
  }
  try {
    return { acks: readBack(reply.json as never, req).map((a) => ({ ...base, writer, ...a })) };
  } catch (err) {
    return {
      acks: [],
      failure: { ...base, kind: 'acknowledged but missing', status: reply.status, detail: `unreadable acknowledgement: ${(err as Error).message}` },
    };
  }
}

// ---------------------------------------------------------------- running

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'no answer';

export interface FuzzRun {
  sent: number;
  ms: number;
  byClass: Record<StatusClass, number>;
  byStatus: Record<number, number>;
  /** Per operationId: answers per status class. */
  byOperation: Record<string, Record<StatusClass, number>>;
  failures: Failure[];
  acks: Ack[];
}

const classOf = (status: number): StatusClass => (status === 0 ? 'no answer' : status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : '2xx');

/** Sends the requests from `concurrency` clients; with `check`, checks every answer and collects acknowledged writes. */
export async function runRequests(client: RawClient, requests: Iterator<FuzzRequest>, opts: { concurrency: number; check: boolean }): Promise<FuzzRun> {
  const classes = (): Record<StatusClass, number> => ({ '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, 'no answer': 0 });
  const run: FuzzRun = { sent: 0, ms: 0, byClass: classes(), byStatus: {}, byOperation: {}, failures: [], acks: [] };
  const t0 = performance.now();
  const worker = async () => {
    for (let next = requests.next(); !next.done; next = requests.next()) {
      const req = next.value;
      const reply = await client.send(req);
      run.sent++;
      run.byClass[classOf(reply.status)]++;
      (run.byOperation[req.op.operationId] ??= classes())[classOf(reply.status)]++;
      run.byStatus[reply.status] = (run.byStatus[reply.status] ?? 0) + 1;
      if (!opts.check) continue;
      const failure = checkReply(req, reply);
      if (failure) run.failures.push(failure);
      const ack = acknowledged(req, reply);
      run.acks.push(...ack.acks);
      if (ack.failure) run.failures.push(ack.failure);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  run.ms = performance.now() - t0;
  return run;
}

/** Reads back every acknowledged write; one failure per write that is not there as acknowledged. */
export async function verifyAcks(client: RawClient, fx: Fixture, acks: Ack[], concurrency: number): Promise<Failure[]> {
  const failures: Failure[] = [];
  let next = 0;
  const worker = async () => {
    while (next < acks.length) {
      const ack = acks[next++];
      // Requests carrying org B's admin token write in org B.
      const admin = ack.writer === fx.other.adminToken ? fx.other.adminToken : fx.tokens.admin;
      const wrong = await ack.verify(client, admin).catch((err: Error) => `read-back failed: ${err.message}`);
      if (wrong)
        failures.push({ kind: 'acknowledged but missing', n: ack.n, route: ack.route, mutation: ack.mutation, status: 0, detail: `${ack.what}: ${wrong}` });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

/** Failures grouped by what they have in common (kind, route, mutation, status), the largest groups first. */
export function failureClasses(failures: Failure[]): { key: string; count: number; example: Failure }[] {
  const groups = new Map<string, { key: string; count: number; example: Failure }>();
  for (const f of failures) {
    const key = `${f.kind}: ${f.route} | ${f.mutation} -> ${f.status || '-'}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { key, count: 1, example: f });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** A readable report: one line per class with an example (request number and what came back). */
export function formatFailures(failures: Failure[], seed: number, max = 60): string {
  const classes = failureClasses(failures);
  const lines = classes.slice(0, max).map((c) => `  ${String(c.count).padStart(4)} x ${c.key}\n         e.g. request #${c.example.n}: ${c.example.detail}`);
  if (classes.length > max) lines.push(`  ... and ${classes.length - max} more classes`);
  return `${failures.length} failure(s) in ${classes.length} class(es), seed ${seed}:\n${lines.join('\n')}`;
}
