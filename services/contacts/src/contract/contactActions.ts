import { z } from 'zod';
import { STAFF, type Route } from '@relais/shared';
import { WRITERS, channelId, partyId } from './channels';
import { CALL_DIRECTIONS, CALL_OUTCOMES, CONTACT_ACTION_STATUSES, CONTACT_ACTION_TYPES } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// Contact actions on a file (seed 002): call, letter, SMS, e-mail

const SMS_TEXT_MAX = 1000;
const EMAIL_TEXT_MAX = 10_000;

export const contactActionId = z.uuid({ message: 'must be a contact action id (UUID)' });

export const recordContactActionInput = z
  .strictObject({
    partyId,
    type: z.enum(CONTACT_ACTION_TYPES, { error: 'must be call, letter, sms or email' }),
    channelId: channelId.optional().describe("The channel used, on any debtor of the file; the file's default of the kind when left out"),
    direction: z.enum(CALL_DIRECTIONS, { error: 'must be outbound or inbound' }).optional().describe('call: who called (default outbound)'),
    outcome: z
      .enum(CALL_OUTCOMES, { error: `must be one of ${CALL_OUTCOMES.join(', ')}` })
      .optional()
      .describe('call: how it ended (required)'),
    text: z
      .string()
      .trim()
      .min(1, 'cannot be empty')
      .max(EMAIL_TEXT_MAX, `must be at most ${EMAIL_TEXT_MAX} characters`)
      .optional()
      .describe(`sms, email: the message (required; at most ${SMS_TEXT_MAX} characters for an SMS)`),
    subject: z.string().trim().min(1, 'cannot be empty').max(200, 'must be at most 200 characters').optional().describe('email: the subject (required)'),
    note: z.string().max(2000, 'must be at most 2000 characters').optional().describe('What was said or sent, for the file'),
    qualify: z.boolean().default(true).describe('call: let the outcome qualify the number (reached validates it; wrongPerson, notAttributed mark it invalid)'),
  })
  .superRefine((v, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (v.type === 'call' && !v.outcome) issue('outcome', 'is required for a call');
    if (v.type !== 'call' && v.outcome) issue('outcome', 'only applies to a call');
    if (v.type !== 'call' && v.direction) issue('direction', 'only applies to a call');
    if (v.type === 'sms' && !v.text) issue('text', 'is required for an SMS: the message');
    if (v.type === 'sms' && v.text && v.text.length > SMS_TEXT_MAX) issue('text', `must be at most ${SMS_TEXT_MAX} characters for an SMS`);
    if (v.type === 'email' && !v.text) issue('text', 'is required for an e-mail: the message');
    if (v.type === 'email' && !v.subject) issue('subject', 'is required for an e-mail');
    if (v.type !== 'sms' && v.type !== 'email' && v.text) issue('text', 'only applies to an SMS or an e-mail; use note for what was said or written');
    if (v.type !== 'email' && v.subject) issue('subject', 'only applies to an e-mail');
  })
  .meta({ examples: [{ type: 'call', outcome: 'reached', note: 'Promised to pay on the 15th' }] });
export type RecordContactActionInput = z.infer<typeof recordContactActionInput>;

export const listContactActionsInput = z.strictObject({
  partyId,
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
});

export const contactAction = z.object({
  id: z.string(),
  /** The file it was taken for (its root party, as it stood then). */
  fileId: z.string(),
  /** The party whose channel was used. */
  partyId: z.string(),
  type: z.enum(CONTACT_ACTION_TYPES),
  channelId: z.string(),
  /** The channel as it read when the action was taken. */
  channel: z.string(),
  direction: z.enum(CALL_DIRECTIONS).optional(),
  outcome: z.enum(CALL_OUTCOMES).optional(),
  text: z.string().optional(),
  subject: z.string().optional(),
  note: z.string().optional(),
  status: z.enum(CONTACT_ACTION_STATUSES),
  /** The notifications delivery of an SMS or e-mail. */
  deliveryId: z.string().optional(),
  error: z.string().optional(),
  /** What the action did to the channel's qualification. */
  channelChange: z.enum(['validated', 'invalidated']).nullable(),
  at: z.iso.datetime(),
  by: z.string(),
  updatedAt: z.iso.datetime(),
});

export const contactActionList = z.object({ items: z.array(contactAction) });

export const contactActionRoutes: Route[] = [
  {
    method: 'post',
    path: '/v1/parties/:partyId/contact-actions',
    action: 'contacts.recordContactAction',
    input: recordContactActionInput,
    output: contactAction,
    status: 201,
    roles: WRITERS,
    summary: 'Call, write to, text or e-mail the file: through the chosen channel or the default of its kind',
    description:
      'A call is recorded with its outcome; a call that got through validates the number, "wrongPerson" or "notAttributed" marks it invalid ' +
      '(qualify: false records it only). An SMS is sent through the notifications service (the org must have SMS switched on) and its ' +
      'status follows the delivery; a delivered SMS validates the number, an operator\'s "not a mobile" marks it invalid. An e-mail (subject and text) ' +
      'is sent through SMTP by the notifications service; accepted by the SMTP server it is delivered and validates the address, a refused ' +
      'recipient (a hard bounce: 550, 551, 553) marks it invalid. Caseworkers, managers and admins.',
    tag: 'Contact actions',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/contact-actions',
    action: 'contacts.listContactActions',
    input: listContactActionsInput,
    output: contactActionList,
    roles: STAFF,
    summary: "The file's contact actions, newest first (every debtor's)",
    description: 'Every staff role may read them.',
    tag: 'Contact actions',
  },
];
