import { z } from 'zod';
import { STAFF, type Route } from '@relais/shared';

export const pendingMailInput = z.strictObject({
  personId: z.uuid({ message: 'must be a person id (UUID)' }),
});

export const pendingMail = z.object({
  personId: z.string(),
  counts: z.object({ letter: z.number().int(), parcel: z.number().int(), deliveryNotice: z.number().int() }),
});

export const routes: Route[] = [
  {
    method: 'get',
    path: '/v1/people/:personId/pending-mail',
    action: 'notifications.pendingMail',
    input: pendingMailInput,
    output: pendingMail,
    roles: STAFF,
    summary: 'Mail the notifications service counts for a person (not handed over), per kind',
    tag: 'Notifications',
  },
];
