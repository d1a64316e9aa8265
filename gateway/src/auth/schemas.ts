import { z } from 'zod';
import { DEFAULT_TIME_ZONE, ROLES, singleLine, timeZone } from '@relais/shared';

/** Request and response shapes of the gateway's own routes (validation and OpenAPI). */

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
// ISO 3166 user-assigned codes: ICU names some of them (ZZ "Unknown Region", QO), they are not countries.
const USER_ASSIGNED = /^(AA|Q[M-Z]|X[A-Z]|ZZ)$/;

export const regionCode = z
  .string()
  .regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166 alpha-2 region code in capitals, such as FR, RE or GP', abort: true })
  .refine((code) => !USER_ASSIGNED.test(code) && regionNames.of(code) !== undefined, {
    message: 'is not a known ISO 3166 region code',
  });

const line = (max: number) => z.string().trim().min(1, 'must not be empty').max(max).refine(singleLine.check, singleLine.message);
// Examples are for the API document only.
const personName = line(200).meta({ examples: ['Lucas Pierre'] });
const email = z
  .email({ message: 'must be an e-mail address' })
  .max(254)
  .toLowerCase()
  .meta({ examples: ['lucas.pierre@ccas-saint-denis.example'] });
const role = z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` });
const id = (what: string) => z.uuid({ message: `must be a ${what} id (UUID)` });
const tokenLabel = line(100);

export const createOrgInput = z.strictObject({
  name: line(200).meta({ examples: ['CCAS de Saint-Denis'] }),
  region: regionCode.default('FR'),
  timeZone: timeZone.default(DEFAULT_TIME_ZONE),
  admin: z.strictObject({ name: personName, email }),
});
export type CreateOrgInput = z.input<typeof createOrgInput>;

const teams = z
  .array(z.string().trim().min(1, 'cannot be empty').max(100, 'must be at most 100 characters'))
  .max(20, 'at most 20 teams')
  .describe("The teams the user works in (an intervention request's team)")
  .meta({ examples: [['plomberie']] });

export const createUserInput = z.strictObject({
  name: personName,
  email,
  role,
  teams: teams.optional(),
});
export type CreateUserInput = z.input<typeof createUserInput>;

export const userIdInput = z.strictObject({ userId: id('user') });

export const updateUserInput = z.strictObject({
  userId: id('user'),
  role: role.optional(),
  disabled: z.boolean().optional(),
  teams: teams.optional(),
});

export const createTokenInput = z.strictObject({
  userId: id('user'),
  label: tokenLabel.default('API token').meta({ examples: ['Logiciel de gestion du courrier'] }),
});

export const tokenIdInput = z.strictObject({ tokenId: id('token') });

export const listTokensInput = z.strictObject({
  userId: id('user').optional().describe("Only this user's tokens (admins; everybody else sees only their own)"),
  include: z.enum(['active', 'all']).default('active').describe('`all` lists revoked tokens too'),
});

export const noInput = z.strictObject({});

export const org = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string(),
  timeZone: z.string(),
  createdAt: z.iso.datetime(),
});
export type Org = z.infer<typeof org>;

export const user = z.object({
  id: z.string(),
  orgId: z.string(),
  name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  disabled: z.boolean(),
  teams: z.array(z.string()),
  createdAt: z.iso.datetime(),
});
export type User = z.infer<typeof user>;

export const issuedToken = z.object({
  id: z.string(),
  userId: z.string(),
  label: z.string(),
  createdAt: z.iso.datetime(),
  token: z.string().describe('The secret, shown only in this response: send it as `Authorization: Bearer <token>`.'),
});
export type IssuedToken = z.infer<typeof issuedToken>;

export const tokenInfo = z.object({
  id: z.string(),
  userId: z.string(),
  label: z.string(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable().describe('Last authenticated request (to within TOKEN_CACHE_TTL_MS); null if never used'),
  revokedAt: z.iso.datetime().nullable(),
});
export type TokenInfo = z.infer<typeof tokenInfo>;
export const tokenList = z.object({ items: z.array(tokenInfo) });

export const orgWithAdmin = z.object({ org, admin: user, token: issuedToken });
export const me = z.object({ user, org });
export const userList = z.object({ items: z.array(user) });
