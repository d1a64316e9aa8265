import mongoose from 'mongoose';
import { ROLES, type Role } from '@relais/shared';

export interface OrgDoc {
  _id: string;
  name: string;
  /** ISO 3166 alpha-2 code: the default region for parsing phone numbers (FR, RE, GP, ...). */
  region: string;
  /** IANA time zone used for the org's schedules. */
  timeZone: string;
  createdAt: Date;
}

export interface UserDoc {
  _id: string;
  orgId: string;
  name: string;
  /** Lower-cased, unique within the org. */
  email: string;
  role: Role;
  disabled: boolean;
  /** The teams the user works in: a request handled by a team tells its members of what the client posts. */
  teams?: string[];
  createdAt: Date;
}

export interface TokenDoc {
  _id: string;
  orgId: string;
  userId: string;
  /** sha256 (hex) of the token: the plain value is never stored. */
  hash: string;
  label: string;
  createdAt: Date;
  revokedAt?: Date;
}

/**
 * When a token was last seen, kept apart from the token: FerretDB 1.24 loses one of two
 * concurrent updates of the same document (measured: a $set of lastUsedAt racing a
 * revocation dropped the revocation 17 times in 30), so the token document has a single
 * writer after its insert: revocation.
 */
export interface TokenUsageDoc {
  /** The token's id. */
  _id: string;
  orgId: string;
  lastUsedAt: Date;
}

export const orgSchema = new mongoose.Schema<OrgDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    region: { type: String, required: true },
    timeZone: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'orgs' },
);
// Serves findByName (demo seeding finds its org by name).
orgSchema.index({ name: 1 });

export const userSchema = new mongoose.Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    name: { type: String, required: true },
    email: { type: String, required: true },
    role: { type: String, enum: ROLES, required: true },
    disabled: { type: Boolean, required: true, default: false },
    teams: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'users' },
);
// Serves one account per e-mail in an org (findOne { orgId, email }) and, by its prefix, an org's user list.
userSchema.index({ orgId: 1, email: 1 }, { unique: true });
// Serves a team's members (a portal post tells them): { orgId, teams }.
userSchema.index({ orgId: 1, teams: 1 });

export const tokenSchema = new mongoose.Schema<TokenDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    userId: { type: String, required: true },
    hash: { type: String, required: true },
    label: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: Date,
  },
  { versionKey: false, collection: 'api_tokens' },
);
// Serves authentication: findOne { hash } on every token-cache miss.
tokenSchema.index({ hash: 1 }, { unique: true });
// Serves the token list: find { orgId, userId? } sorted by createdAt.
tokenSchema.index({ orgId: 1, userId: 1, createdAt: -1 });

// Only _id (the token id) is queried: no secondary index.
export const tokenUsageSchema = new mongoose.Schema<TokenUsageDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    lastUsedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'api_token_usage' },
);
