import { randomUUID } from 'node:crypto';
import { testConfig } from '@relais/testing';
import { exchangesConfigSchema, type ExchangesConfig } from '../src/config';
import type { ExchangeDoc } from '../src/domain/exchanges';
import type { RequestDoc } from '../src/domain/requests';

const at = new Date('2026-12-01T09:00:00Z');

/** A sent exchange recorded by staff (u1) to the client's first contact; `more` changes what a test looks at. */
export const exchangeDoc = (more: Partial<ExchangeDoc> = {}): ExchangeDoc => ({
  _id: randomUUID(),
  orgId: 'org',
  requestId: 'req',
  direction: 'sent',
  type: 'contact',
  sentBy: { kind: 'user', userId: 'u1' },
  receivedBy: { kind: 'contact', contactNumber: 1 },
  email: null,
  subject: null,
  detail: 'Appel pour fixer le rendez-vous.',
  occurredAt: at,
  origin: 'staff',
  visibility: 'client',
  createdBy: 'u1',
  createdAt: at,
  edits: [],
  emailDelivery: null,
  attachments: [],
  deleted: null,
  ...more,
});

/** An open intervention request registered by u1, before its number is given. */
export const requestDoc = (more: Partial<RequestDoc> = {}): Omit<RequestDoc, 'number'> => ({
  _id: randomUUID(),
  orgId: 'org',
  clientId: randomUUID(),
  interlocutor: 1,
  title: 'Fuite sous l’évier',
  assignedTo: null,
  team: null,
  status: 'open',
  openedAt: at,
  doneAt: null,
  closedAt: null,
  createdBy: 'u1',
  createdAt: at,
  updatedAt: at,
  ...more,
});

/** The configuration of a test's exchanges service: the run's database and NATS in its namespace, and `more`. */
export const exchangesTestConfig = (namespace: string, more: Record<string, string> = {}): ExchangesConfig =>
  exchangesConfigSchema.parse({ ...testConfig(namespace), ...more });
