import { z } from 'zod';
import { STAFF, mailKind, type Route } from '@relais/shared';

/** Request and response shapes of the mail service: action params, HTTP routes and OpenAPI all come from here. */

export const personId = z.uuid({ message: 'must be a person id (UUID)' });

export const registerMailInput = z.strictObject({
  personId,
  kind: mailKind,
  quantity: z.number().int().min(1).max(1000).default(1),
  sender: z.string().trim().min(1).max(200).optional(),
  note: z.string().trim().min(1).max(2000).optional(),
});
export type RegisterMailInput = z.infer<typeof registerMailInput>;

export const getMailInput = z.strictObject({ mailItemId: z.uuid({ message: 'must be a mail item id (UUID)' }) });

export const listPersonMailInput = z.strictObject({ personId });

export const mailItem = z.object({
  id: z.string(),
  personId: z.string(),
  kind: mailKind,
  quantity: z.number().int(),
  sender: z.string().optional(),
  note: z.string().optional(),
  status: z.enum(['pending', 'handedOver']),
  registeredAt: z.iso.datetime(),
  registeredBy: z.string(),
});
export type MailItem = z.infer<typeof mailItem>;

export const personMail = z.object({
  personId: z.string(),
  pending: z.object({ letter: z.number().int(), parcel: z.number().int(), deliveryNotice: z.number().int() }),
  items: z.array(mailItem),
});

export const routes: Route[] = [
  {
    method: 'post',
    path: '/v1/people/:personId/mail',
    action: 'mail.register',
    input: registerMailInput,
    output: mailItem,
    status: 201,
    roles: STAFF,
    idempotent: true,
    summary: 'Register postal mail received for a person',
    tag: 'Mail',
  },
  {
    method: 'get',
    path: '/v1/mail/:mailItemId',
    action: 'mail.get',
    input: getMailInput,
    output: mailItem,
    roles: STAFF,
    summary: 'One mail item',
    tag: 'Mail',
  },
  {
    method: 'get',
    path: '/v1/people/:personId/mail',
    action: 'mail.listForPerson',
    input: listPersonMailInput,
    output: personMail,
    roles: STAFF,
    summary: "A person's mail: pending counts per kind and the items",
    tag: 'Mail',
  },
];
