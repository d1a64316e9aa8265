import { derivedId, type Envelope } from '@relais/shared';
import { contactDeliveryId } from '../api';
import type { Planning } from '../planning/useCases';
import { staffEmailDelivery } from '../planning/deliveries';
import type { NoticeDoc, NoticeReason, StaffNotices } from './notices';

/** A collaborator as the accounts service answers. */
interface Member {
  id: string;
  name: string;
  email: string | null;
  disabled?: boolean;
}

/** A broker call as the platform in an org (an event has no caller). */
export type OrgCall = (orgId: string) => <T>(action: string, params: object) => Promise<T>;

/**
 * Who is told of an exchange the client wrote (a portal post, an e-mail that came in): the request's
 * collaborator, then its team's members, each once and with the reason; never its author. Pure.
 */
export function noticeRecipients(assignedTo: string | null, team: readonly string[], author: string): { userId: string; reason: NoticeReason }[] {
  const out = new Map<string, NoticeReason>();
  if (assignedTo) out.set(assignedTo, 'assigned');
  for (const id of team) if (!out.has(id)) out.set(id, 'team');
  out.delete(author);
  return [...out].map(([userId, reason]) => ({ userId, reason }));
}

/**
 * Staff notifications: what a client writes on a request reaches its collaborator and team as an
 * in-app notification (read/unread) and an e-mail through the delivery history.
 */
export class StaffNotifying {
  constructor(private readonly d: { notices: StaffNotices; planning: Planning; call: OrgCall; now: () => Date }) {}

  async apply(events: readonly Envelope<'exchange.recorded'>[]): Promise<void> {
    for (const e of events) {
      const x = e.data;
      if (x.origin !== 'portal' && x.origin !== 'email') continue;
      const call = this.d.call(e.orgId);
      const team = x.team ? (await call<{ items: Member[] }>('accounts.teamMembers', { team: x.team })).items : [];
      const assignee = x.assignedTo
        ? await call<Member>('accounts.getUser', { userId: x.assignedTo }).catch((err: { code?: number }) => {
            if (err?.code === 404) return null;
            throw err;
          })
        : null;
      const members = new Map<string, Member>([...team, ...(assignee ? [assignee] : [])].filter((m) => !m.disabled).map((m) => [m.id, m]));
      const recipients = noticeRecipients(assignee && !assignee.disabled ? assignee.id : null, [...members.keys()], x.createdBy);
      const now = this.d.now();
      const docs: NoticeDoc[] = recipients.map(({ userId, reason }) => {
        const email = members.get(userId)?.email ?? null;
        // One per (event, user), also its e-mail's reference: a redelivered event stores and sends nothing again.
        const id = derivedId(e.id, userId);
        return {
          _id: id,
          orgId: e.orgId,
          userId,
          reason,
          requestId: x.requestId,
          requestNumber: x.requestNumber,
          title: x.title,
          exchangeId: x.exchangeId,
          origin: x.origin as 'portal' | 'email',
          subject: x.subject,
          preview: x.preview,
          deliveryId: email ? contactDeliveryId(e.orgId, id) : null,
          createdAt: now,
          readAt: null,
        };
      });
      // Notices first: an e-mail is sent only for a notice that is stored.
      await this.d.notices.insertNew(docs);
      for (const n of docs) {
        const to = members.get(n.userId)?.email;
        if (!to) continue;
        const ref = n._id;
        const how = x.origin === 'portal' ? 'sur le portail client' : 'par e-mail';
        await this.d.planning.sendContact(e.orgId, ref, 'UTC', () =>
          staffEmailDelivery(
            e.orgId,
            {
              personId: n.userId,
              to,
              subject: `${x.requestNumber} : nouveau message du client`,
              text: `Le client a écrit ${how} sur la demande ${x.requestNumber} (${x.title}) :\n\n${x.subject ? `${x.subject}\n` : ''}${x.preview}\n\nVous recevez ce message car ${n.reason === 'assigned' ? 'la demande vous est attribuée' : 'votre équipe traite la demande'}.`,
              ref,
            },
            now,
          ),
        );
      }
    }
  }
}
