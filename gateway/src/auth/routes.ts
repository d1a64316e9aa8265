import { ROLES, conflict, forbidden, notFound, requireRole, validationError, type AuthContext } from '@relais/shared';
import type { CallContext, Operation } from '../http/operation';
import { createOrgWithAdmin, createUser, issueToken, listTokens, toOrg, toUser } from './accounts';
import {
  createOrgInput,
  createTokenInput,
  createUserInput,
  issuedToken,
  listTokensInput,
  me,
  noInput,
  orgWithAdmin,
  tokenIdInput,
  tokenList,
  updateUserInput,
  user,
  userIdInput,
  userList,
} from './schemas';
import type { GatewayStore } from './store';
import type { TokenVerifier } from './verifier';
import type { z } from 'zod';

const TAG = 'Accounts';
const ADMIN = ['admin'] as const;

function authOf(ctx: CallContext): AuthContext {
  // Mounted behind bearerAuth: always set.
  return ctx.principal!.auth;
}

/** Admins act on anyone in their org; everybody else only on themselves. */
function requireAdminOrSelf(auth: AuthContext, userId: string, what: string): void {
  if (auth.role !== 'admin' && auth.userId !== userId) throw forbidden(`Only an admin can ${what} of another user.`);
}

/** The gateway's own routes: orgs, users and API tokens. */
export function accountOperations({ store, verifier }: { store: GatewayStore; verifier: TokenVerifier }): Operation[] {
  const userInOrg = async (orgId: string, userId: string) => {
    const doc = await store.users.byId(orgId, userId);
    // Another org's id looks exactly like an unknown one.
    if (!doc) throw notFound('User');
    return doc;
  };

  return [
    {
      operationId: 'gateway.orgs.create',
      method: 'post',
      path: '/v1/orgs',
      input: createOrgInput,
      output: orgWithAdmin,
      status: 201,
      security: 'platform',
      summary: 'Create an org with its first admin (platform operator only)',
      description: "Returns the admin's API token once. Authenticate with the platform operator token (RELAIS_PLATFORM_TOKEN).",
      tag: TAG,
      run: ({ input }) => createOrgWithAdmin(store, input as z.infer<typeof createOrgInput>),
    },
    {
      operationId: 'gateway.me',
      method: 'get',
      path: '/v1/me',
      input: noInput,
      output: me,
      roles: ROLES,
      security: 'bearer',
      summary: 'The authenticated user and their org',
      tag: TAG,
      async run(_req, ctx) {
        const auth = authOf(ctx);
        const [doc, org] = await Promise.all([userInOrg(auth.orgId, auth.userId), store.orgs.byId(auth.orgId)]);
        if (!org) throw notFound('Org');
        return { user: toUser(doc), org: toOrg(org) };
      },
    },
    {
      operationId: 'gateway.users.list',
      method: 'get',
      path: '/v1/users',
      input: noInput,
      output: userList,
      roles: ADMIN,
      security: 'bearer',
      summary: "The org's users",
      tag: TAG,
      async run(_req, ctx) {
        const auth = authOf(ctx);
        requireRole(auth, ADMIN);
        return { items: (await store.users.list(auth.orgId)).map(toUser) };
      },
    },
    {
      operationId: 'gateway.users.create',
      method: 'post',
      path: '/v1/users',
      input: createUserInput,
      output: user,
      status: 201,
      roles: ADMIN,
      security: 'bearer',
      summary: 'Create a user with a role',
      description: 'The user has no token yet: create one with POST /v1/users/{userId}/tokens.',
      tag: TAG,
      run({ input }, ctx) {
        const auth = authOf(ctx);
        requireRole(auth, ADMIN);
        return createUser(store, auth.orgId, input as z.infer<typeof createUserInput>);
      },
    },
    {
      operationId: 'gateway.users.get',
      method: 'get',
      path: '/v1/users/:userId',
      input: userIdInput,
      output: user,
      roles: ROLES,
      security: 'bearer',
      summary: 'One user (admins: anyone in the org; others: themselves)',
      tag: TAG,
      async run({ input }, ctx) {
        const auth = authOf(ctx);
        const { userId } = input as z.infer<typeof userIdInput>;
        requireAdminOrSelf(auth, userId, 'read the account');
        return toUser(await userInOrg(auth.orgId, userId));
      },
    },
    {
      operationId: 'gateway.users.update',
      method: 'patch',
      path: '/v1/users/:userId',
      input: updateUserInput,
      output: user,
      roles: ADMIN,
      security: 'bearer',
      summary: "Change a user's role or teams, or disable them",
      description: 'Takes effect at once on this gateway instance, and within TOKEN_CACHE_TTL_MS on the others.',
      tag: TAG,
      async run({ input }, ctx) {
        const auth = authOf(ctx);
        requireRole(auth, ADMIN);
        const { userId, role, disabled, teams } = input as z.infer<typeof updateUserInput>;
        if (role === undefined && disabled === undefined && teams === undefined) {
          throw validationError('Invalid input: give role, disabled or teams', [{ path: '(body)', message: 'give role, disabled or teams' }]);
        }
        // Keeps at least one admin able to manage the org.
        if (userId === auth.userId && ((role !== undefined && role !== 'admin') || disabled === true)) {
          throw conflict('You cannot remove your own admin access or disable yourself; ask another admin.');
        }
        const patch = {
          ...(role !== undefined ? { role } : {}),
          ...(disabled !== undefined ? { disabled } : {}),
          ...(teams !== undefined ? { teams: [...new Set(teams)] } : {}),
        };
        const doc = await store.users.update(auth.orgId, userId, patch);
        if (!doc) throw notFound('User');
        verifier.forgetUser(userId);
        return toUser(doc);
      },
    },
    {
      operationId: 'gateway.tokens.create',
      method: 'post',
      path: '/v1/users/:userId/tokens',
      input: createTokenInput,
      output: issuedToken,
      status: 201,
      roles: ROLES,
      security: 'bearer',
      summary: 'Create an API token for a user (admins: anyone in the org; others: themselves)',
      description: 'The token is in this response only; the gateway keeps its hash.',
      tag: TAG,
      async run({ input }, ctx) {
        const auth = authOf(ctx);
        const { userId, label } = input as z.infer<typeof createTokenInput>;
        requireAdminOrSelf(auth, userId, 'create tokens');
        const target = await userInOrg(auth.orgId, userId);
        if (target.disabled) throw conflict('This user is disabled; enable them before creating a token.');
        return issueToken(store, auth.orgId, userId, label);
      },
    },
    {
      operationId: 'gateway.tokens.list',
      method: 'get',
      path: '/v1/tokens',
      input: listTokensInput,
      output: tokenList,
      roles: ROLES,
      security: 'bearer',
      summary: 'API tokens (admins: the whole org, or one user with userId; others: their own), newest first',
      description: 'Never the secret itself: only its id, label and dates. Revoke one with DELETE /v1/tokens/{tokenId}.',
      tag: TAG,
      async run({ input }, ctx) {
        const auth = authOf(ctx);
        const { userId, include } = input as z.infer<typeof listTokensInput>;
        if (userId) {
          requireAdminOrSelf(auth, userId, 'list the tokens');
          await userInOrg(auth.orgId, userId);
        }
        return { items: await listTokens(store, auth.orgId, { userId: auth.role === 'admin' ? userId : auth.userId, include }) };
      },
    },
    {
      operationId: 'gateway.tokens.revoke',
      method: 'delete',
      path: '/v1/tokens/:tokenId',
      input: tokenIdInput,
      status: 204,
      roles: ROLES,
      security: 'bearer',
      summary: 'Revoke an API token (admins: any in the org; others: their own)',
      description: 'Takes effect at once on this gateway instance, and within TOKEN_CACHE_TTL_MS on the others. Revoking twice is harmless.',
      tag: TAG,
      async run({ input }, ctx) {
        const auth = authOf(ctx);
        const { tokenId } = input as z.infer<typeof tokenIdInput>;
        const token = await store.tokens.byId(auth.orgId, tokenId);
        // Someone else's token is as invisible to a non-admin as another org's.
        if (!token || (auth.role !== 'admin' && token.userId !== auth.userId)) throw notFound('Token');
        await store.tokens.revoke(auth.orgId, tokenId, new Date());
        verifier.forgetToken(tokenId);
        return undefined;
      },
    },
  ];
}
