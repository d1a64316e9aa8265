import { randomUUID } from 'node:crypto';
import { conflict, notFound, type AuthContext, type Envelope, type Outbox } from '@relais/shared';
import type { Parties } from './data/parties';
import { listChannels, type ChannelView, type PartyChannels, type PrimaryChange, type Stamp } from './domain/channels';
import type { CompanyDoc } from './domain/companies';
import { fileRootId, partyName, toPartySummary, type ErasedChannel, type RemovedChannel } from './domain/parties';
import { partyChannelsOf, primaryChangedEvents, withChannels } from './domain/partyChannels';
import type { PersonDoc } from './domain/people';

export type PartyDoc = PersonDoc | CompanyDoc;

/**
 * A file as the contacts service changes it: the party, or every debtor of a collections file
 * (the root party first, then its co-debtors and guarantors), each a document of its own.
 */
export interface FileRead {
  /** The party the request named. */
  doc: PartyDoc;
  /** The party whose file it is: `doc` itself, or the file `doc` is a debtor on. */
  root: PartyDoc;
  /** Root first, then its debtors in the order they were added. */
  members: PartyDoc[];
  parties: PartyChannels[];
}

/** What a decision on a file's channels writes: the parties it changed, their primary changes, and the answer. */
export interface ChannelDecision<R> {
  changed: readonly PartyChannels[];
  primaryChanges: readonly (PrimaryChange | null)[];
  removed?: RemovedChannel;
  erased?: ErasedChannel;
  result: (file: FileRead) => R;
}

/** Writes that lose a race are decided again on the fresh documents this many times. */
const ATTEMPTS = 3;

const raced = () => conflict('This file was being changed by someone else at the same time; reload it and try again.');

/**
 * The files of an org's parties: reads a file whole, and writes a change of any of its
 * documents, with the events it publishes, through the outbox. The one place that writes a
 * party's channels, assignment or debtors, so every such write is version-checked the same way.
 */
export class Files {
  constructor(
    private readonly parties: Parties,
    private readonly outbox: Outbox,
  ) {}

  /** The file of `partyId`, or a 404. */
  async read(orgId: string, partyId: string): Promise<FileRead> {
    const doc = await this.parties.byId(orgId, partyId);
    if (!doc) throw notFound('Party');
    const parent = doc.debtorOf ? await this.parties.byId(orgId, doc.debtorOf) : null;
    const root = fileRootId(doc, parent) === doc._id ? doc : parent!;
    const debtorIds = (root.debtors ?? []).map((d) => d.partyId);
    const found = await this.parties.byIds(
      orgId,
      debtorIds.filter((id) => id !== doc._id),
    );
    const byId = new Map<string, PartyDoc>([...found, doc].map((d) => [d._id, d]));
    // A debtor whose own document does not point back (an unlink half done) is not on the file.
    const debtors = debtorIds.map((id) => byId.get(id)).filter((d): d is PartyDoc => d?.debtorOf === root._id);
    const members = [root, ...debtors];
    return { doc, root, members, parties: members.map(partyChannelsOf) };
  }

  /**
   * Reads the file of `partyId`, decides a change of its channels on it (a refusal throws),
   * writes every party it changed only if none changed meanwhile (else decides again on the
   * fresh file), and publishes the contact.primaryChanged events through the outbox.
   */
  async changeChannels<R>(auth: AuthContext, partyId: string, decide: (file: FileRead, stamp: Stamp) => ChannelDecision<R> | { unchanged: R }): Promise<R> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const file = await this.read(auth.orgId, partyId);
      const stamp = { by: auth.userId, at: new Date() };
      const decision = decide(file, stamp);
      if ('unchanged' in decision) return decision.unchanged;
      const kindOf = (id: string) => file.members.find((m) => m._id === id)!.kind;
      const writes = decision.changed.map((party) => {
        const doc = file.members.find((m) => m._id === party.partyId)!;
        const events = primaryChangedEvents(
          auth.orgId,
          decision.primaryChanges.filter((c) => c?.partyId === party.partyId),
          kindOf,
          stamp,
          randomUUID,
        );
        const removedHere = decision.removed && doc.channels?.some((c) => c.id === decision.removed!.channel.id);
        let next: PartyDoc = withChannels(doc, party, events, removedHere ? decision.removed : undefined);
        if (decision.erased && party.partyId === partyId) {
          next = {
            ...next,
            removedChannels: (next.removedChannels ?? []).filter((r) => r.channel.id !== decision.erased!.channelId),
            erasedChannels: [...(next.erasedChannels ?? []), decision.erased],
          };
        }
        return { doc, next, events };
      });
      if (await this.write(auth.orgId, writes, partyId)) {
        const written = new Map(writes.map((w) => [w.next._id, w.next]));
        const members = file.members.map((m) => written.get(m._id) ?? m);
        const after = {
          ...file,
          doc: written.get(file.doc._id) ?? file.doc,
          root: written.get(file.root._id) ?? file.root,
          members,
          parties: members.map(partyChannelsOf),
        };
        return decision.result(after);
      }
    }
    throw raced();
  }

  /**
   * Writes documents of a file (no channel events): `change` gets the fresh file and returns the
   * documents to write, already at their next revision, or null for "nothing to change".
   */
  async changeDocs<R>(
    auth: AuthContext,
    partyId: string,
    change: (file: FileRead, stamp: Stamp) => { docs: PartyDoc[]; result: (file: FileRead) => R } | { unchanged: R },
  ): Promise<R> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const file = await this.read(auth.orgId, partyId);
      const decision = change(file, { by: auth.userId, at: new Date() });
      if ('unchanged' in decision) return decision.unchanged;
      let ok = true;
      for (const next of decision.docs) {
        if (!(await this.parties.replace(auth.orgId, next, next.revision - 1))) {
          ok = false;
          break;
        }
      }
      if (ok) return decision.result(await this.read(auth.orgId, partyId));
    }
    throw raced();
  }

  /**
   * Writes the changed documents, the party the request named last: a default moving from one
   * debtor to another is taken off the first before it is set on the second, so a crash between
   * the two leaves the file without a default, never with two.
   */
  private async write(orgId: string, writes: { doc: PartyDoc; next: PartyDoc; events: Envelope[] }[], partyId: string): Promise<boolean> {
    const ordered = [...writes].sort((a, b) => Number(a.doc._id === partyId) - Number(b.doc._id === partyId));
    const events = ordered.flatMap((w) => w.events);
    return this.outbox.write(
      events,
      ordered.map((w) => w.doc._id),
      async () => {
        const applied: Envelope[] = [];
        for (const w of ordered) {
          if (!(await this.parties.replace(orgId, w.next, w.doc.revision))) return { result: false, applied };
          applied.push(...w.events);
        }
        return { result: true, applied };
      },
    );
  }
}

/** The default channel of each kind across a file's debtors (at most one each, by the qualification rule). */
export function fileDefaults(file: FileRead): Record<'phone' | 'email' | 'postal', ChannelView | null> {
  const all = file.parties.flatMap((p) => listChannels(p));
  const of = (kind: string) => all.find((c) => c.kind === kind && c.isDefault) ?? null;
  return { phone: of('phone'), email: of('email'), postal: of('postal') };
}

/** The file as GET /v1/parties/{id} shows it, seen from the party the request named. */
export function fileView(file: FileRead) {
  const { doc, root } = file;
  const link = root !== doc ? (root.debtors ?? []).find((d) => d.partyId === doc._id) : undefined;
  const named = (id: string) => file.members.find((m) => m._id === id);
  return {
    ...toPartySummary(doc),
    assignedTo: root.assignedTo ?? null,
    debtorOf: link ? { partyId: root._id, name: partyName(root), role: link.role } : null,
    debtors: (root.debtors ?? []).flatMap((d) => {
      const member = named(d.partyId);
      if (!member || member === root) return [];
      return [{ partyId: d.partyId, kind: member.kind, name: partyName(member), role: d.role, addedAt: d.addedAt.toISOString(), addedBy: d.addedBy }];
    }),
    defaults: fileDefaults(file),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}
