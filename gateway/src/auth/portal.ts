import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import mongoose, { type Connection, type Model } from 'mongoose';
import type { ServiceBroker } from 'moleculer';
import { z } from 'zod';
import { STAFF, conflict, notFound, requireRole, unauthorized, withTimeout, type PinoLogger, type RelaisMeta, type Role } from '@relais/shared';
import type { CallContext, Operation } from '../http/operation';
import { unavailable } from '../http/problems';
import type { PortalPrincipal } from './principal';
import { bearerToken } from './tokens';
import type { OrgDoc } from './models';

/*
 * Portal accesses (seed 004's client portal): a client's contact signs in with a portal token sent
 * to them by e-mail as a link. A portal token is not an API token: it has its own prefix and
 * collection, reaches only the routes marked for the portal, and carries the client's file as its
 * whole scope. Staff grant and revoke accesses; the gateway owns them, as it owns API tokens.
 */

const PREFIX = 'rlp_';
const TOKEN_PATTERN = /^rlp_[A-Za-z0-9_-]{43}$/;
const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Who grants a client's contact portal access: those who may e-mail a client (the link goes by e-mail). */
const GRANTERS: readonly Role[] = ['admin', 'manager', 'caseworker'];

export interface PortalAccessDoc {
  _id: string;
  orgId: string;
  clientId: string;
  contactNumber: number;
  /** The contact's name and address when access was granted (the link went there). */
  name: string;
  email: string;
  /** sha256 (hex) of the token: the plain value is never stored. */
  hash: string;
  createdAt: Date;
  createdBy: string;
  expiresAt: Date;
  revokedAt: Date | null;
}

const schema = new mongoose.Schema<PortalAccessDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    clientId: { type: String, required: true },
    contactNumber: { type: Number, required: true },
    name: { type: String, required: true },
    email: { type: String, required: true },
    hash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { versionKey: false, collection: 'portal_accesses' },
);
// Serves sign-in: the token's hash.
schema.index({ hash: 1 }, { unique: true });
// Serves a client's accesses: { orgId, clientId }.
schema.index({ orgId: 1, clientId: 1 });

/** Where a portal token's org is read (the gateway's orgs). */
export interface OrgLookup {
  byId(orgId: string): Promise<OrgDoc | null>;
}

export class PortalAccesses {
  private constructor(
    private readonly model: Model<PortalAccessDoc>,
    private readonly timeoutMs: number,
  ) {}

  static open(db: Connection, timeoutMs: number): PortalAccesses {
    return new PortalAccesses((db.models.PortalAccess as Model<PortalAccessDoc>) ?? db.model<PortalAccessDoc>('PortalAccess', schema), timeoutMs);
  }

  /** A new access and its token (shown once: only its hash is kept). */
  async grant(doc: Omit<PortalAccessDoc, '_id' | 'hash' | 'revokedAt'>): Promise<{ access: PortalAccessDoc; token: string }> {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const access: PortalAccessDoc = { ...doc, _id: randomUUID(), hash: hash(token), revokedAt: null };
    await this.model.insertMany([access], { lean: true });
    return { access, token };
  }

  ofClient(orgId: string, clientId: string): Promise<PortalAccessDoc[]> {
    return this.model.find({ orgId, clientId }).sort({ createdAt: -1 }).lean<PortalAccessDoc[]>().exec();
  }

  async revoke(orgId: string, id: string, at: Date): Promise<PortalAccessDoc | null> {
    const doc = await this.model.findOne({ _id: id, orgId }).lean<PortalAccessDoc>().exec();
    if (!doc) return null;
    if (!doc.revokedAt) await this.model.updateOne({ _id: id, orgId }, { $set: { revokedAt: at } }).exec();
    return { ...doc, revokedAt: doc.revokedAt ?? at };
  }

  /** The portal principal of a token: null when malformed, unknown, revoked or expired. */
  async principalFor(token: string, orgs: OrgLookup, now = new Date()): Promise<PortalPrincipal | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const doc = await withTimeout(
      this.model
        .findOne({ hash: hash(token) })
        .lean<PortalAccessDoc>()
        .exec(),
      this.timeoutMs,
      'portal token lookup',
    );
    if (!doc || doc.revokedAt || doc.expiresAt <= now) return null;
    const org = await withTimeout(orgs.byId(doc.orgId), this.timeoutMs, 'portal org lookup');
    if (!org) return null;
    return {
      portal: { orgId: doc.orgId, clientId: doc.clientId, contactNumber: doc.contactNumber, accessId: doc._id },
      org: { region: org.region, timeZone: org.timeZone },
    };
  }
}

const CHALLENGE = 'Bearer realm="relais-portal"';

/** Portal token authentication: sets res.locals.portal, else 401. An API token is refused here, as is anything else. */
export function portalAuth(accesses: PortalAccesses, orgs: OrgLookup, logger: PinoLogger): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('Authorization'));
    if (!token) {
      res.set('WWW-Authenticate', CHALLENGE);
      throw unauthorized('Sign in to the portal: send Authorization: Bearer <portal token> (the one of the link you received).');
    }
    let principal;
    try {
      principal = await accesses.principalFor(token, orgs);
    } catch (err) {
      logger.error({ reqId: res.locals.requestId, error: { message: (err as Error).message } }, 'portal token verification failed');
      throw unavailable('Sign-in is temporarily unavailable.');
    }
    if (!principal) {
      res.set('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
      throw unauthorized('This portal link is not valid: it is unknown, expired or revoked. Ask for a new one.');
    }
    res.locals.portal = principal;
    next();
  };
}

// ------------------------------------------------------------------------------- the routes

const partyId = z.uuid({ message: 'must be a party id (UUID)' });
const contactNumber = z.coerce
  .number({ error: 'must be a contact number: 1, 2, 3...' })
  .int('must be a contact number: 1, 2, 3...')
  .min(1, 'must be a contact number: 1, 2, 3...')
  .max(999_999, 'must be at most 999999');

export const grantInput = z.strictObject({
  partyId,
  contactNumber,
  days: z.number().int('must be whole days').min(1).max(365, 'must be at most 365').default(30).describe('How long the link works'),
});
const accessView = z.object({
  id: z.string(),
  clientId: z.string(),
  contactNumber: z.number().int(),
  name: z.string(),
  email: z.string(),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  expiresAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});
const granted = accessView.extend({
  token: z.string().describe('The portal token, shown once: the e-mail carries it in the link'),
  link: z.string(),
  deliveryId: z.string().describe("The e-mail's delivery in the notifications history"),
});
const clientInput = z.strictObject({ partyId });
const accessIdInput = z.strictObject({ accessId: z.uuid({ message: "must be a portal access's id (UUID)" }) });
const portalMe = z.object({ clientId: z.string(), contactNumber: z.number().int(), name: z.string(), email: z.string().nullable() });

const toView = (d: PortalAccessDoc) => ({
  id: d._id,
  clientId: d.clientId,
  contactNumber: d.contactNumber,
  name: d.name,
  email: d.email,
  createdAt: d.createdAt.toISOString(),
  createdBy: d.createdBy,
  expiresAt: d.expiresAt.toISOString(),
  revokedAt: d.revokedAt ? d.revokedAt.toISOString() : null,
});

/** The portal's link: the page a contact opens, the token in its fragment (never sent to a server's logs). */
export const portalLink = (base: string, token: string) => `${base.replace(/\/+$/, '')}/#token=${token}`;

type Contact = { number: number; name: string; email: string | null; active: boolean };

/** Staff grant, list and revoke portal accesses; a signed-in contact reads who they are. */
export function portalOperations(deps: { accesses: PortalAccesses; broker: ServiceBroker; portalUrl: string }): Operation[] {
  const meta = (ctx: CallContext): RelaisMeta => ({ auth: ctx.principal!.auth, org: ctx.principal!.org });
  const TAG = 'Client portal';
  return [
    {
      operationId: 'gateway.portal.grant',
      method: 'post',
      path: '/v1/parties/:partyId/contacts/:contactNumber/portal-access',
      input: grantInput,
      output: granted,
      status: 201,
      roles: GRANTERS,
      security: 'bearer',
      summary: "Give a client's contact access to the portal: a link sent to their e-mail",
      description:
        'The contact sees the requests of their client and the exchanges visible to them, and posts on an ongoing request or one completed recently. The token is answered once, and e-mailed as a link.',
      tag: TAG,
      async run({ input }, ctx) {
        const auth = ctx.principal!.auth;
        requireRole(auth, GRANTERS);
        const { partyId: clientId, contactNumber: n, days } = input as z.infer<typeof grantInput>;
        const contact = await deps.broker.call<Contact, object>('contacts.getClientContact', { partyId: clientId, contactNumber: n }, { meta: meta(ctx) });
        if (!contact.active) throw conflict('This contact is no longer valid: give access to a current contact.');
        if (!contact.email) throw conflict('This contact has no e-mail address to send the portal link to: add one first.');
        const now = new Date();
        const { access, token } = await deps.accesses.grant({
          orgId: auth.orgId,
          clientId,
          contactNumber: n,
          name: contact.name,
          email: contact.email,
          createdAt: now,
          createdBy: auth.userId,
          expiresAt: new Date(now.getTime() + days * 86_400_000),
        });
        const link = portalLink(deps.portalUrl, token);
        const sent = await deps.broker.call<{ deliveryId: string }, object>(
          'notifications.sendContactEmail',
          {
            personId: clientId,
            to: contact.email,
            subject: 'Votre accès au portail client',
            text: `Bonjour ${contact.name},\n\nVous pouvez suivre vos demandes d’intervention et nous écrire sur le portail client :\n${link}\n\nCe lien est personnel ; il est valable jusqu’au ${access.expiresAt.toISOString().slice(0, 10)}.`,
            ref: access._id,
          },
          { meta: meta(ctx) },
        );
        return { ...toView(access), token, link, deliveryId: sent.deliveryId };
      },
    },
    {
      operationId: 'gateway.portal.list',
      method: 'get',
      path: '/v1/parties/:partyId/portal-access',
      input: clientInput,
      output: z.object({ items: z.array(accessView) }),
      roles: STAFF,
      security: 'bearer',
      summary: "A client's portal accesses, revoked and expired ones included",
      tag: TAG,
      async run({ input }, ctx) {
        const { partyId: clientId } = input as z.infer<typeof clientInput>;
        // An unknown client, or another org's, is a 404.
        await deps.broker.call('contacts.listClientContacts', { partyId: clientId }, { meta: meta(ctx) });
        return { items: (await deps.accesses.ofClient(ctx.principal!.auth.orgId, clientId)).map(toView) };
      },
    },
    {
      operationId: 'gateway.portal.revoke',
      method: 'delete',
      path: '/v1/portal-access/:accessId',
      input: accessIdInput,
      output: accessView,
      roles: GRANTERS,
      security: 'bearer',
      summary: 'Revoke a portal access: its link stops working at once',
      tag: TAG,
      async run({ input }, ctx) {
        requireRole(ctx.principal!.auth, GRANTERS);
        const doc = await deps.accesses.revoke(ctx.principal!.auth.orgId, (input as z.infer<typeof accessIdInput>).accessId, new Date());
        if (!doc) throw notFound('Portal access');
        return toView(doc);
      },
    },
    {
      operationId: 'gateway.portal.me',
      method: 'get',
      path: '/v1/portal/me',
      input: z.strictObject({}),
      output: portalMe,
      roles: [],
      security: 'portal',
      summary: 'Who is signed in to the portal: the client and the contact',
      tag: TAG,
      async run(_req, ctx) {
        const { portal } = ctx.portal!;
        const access = (await deps.accesses.ofClient(portal.orgId, portal.clientId)).find((a) => a._id === portal.accessId);
        return { clientId: portal.clientId, contactNumber: portal.contactNumber, name: access?.name ?? '', email: access?.email ?? null };
      },
    },
  ];
}
