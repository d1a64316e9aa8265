import mongoose, { type Connection, type Model } from 'mongoose';
import { modelOf, upsertNewer, type Envelope } from '@relais/shared';

/**
 * What exchanges knows of each party's addresses, fed by contact.primaryChanged: the e-mail an
 * exchange is sent to by default when the party's primary channel is an e-mail. Written only
 * when the event is newer than what is stored, so a late or repeated event changes nothing.
 */
export interface RecipientAddressDoc {
  /** `<orgId>:<partyId>`: the only read is by it. */
  _id: string;
  orgId: string;
  partyId: string;
  /** The primary e-mail address, or null when the primary is a phone or there is none. */
  email: string | null;
  channelId: string | null;
  changedAt: Date;
}

const schema = new mongoose.Schema<RecipientAddressDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    partyId: { type: String, required: true },
    email: { type: String, default: null },
    channelId: { type: String, default: null },
    changedAt: { type: Date, required: true },
  },
  // No secondary index: documents are read by _id only.
  { versionKey: false, collection: 'recipient_addresses' },
);

const key = (orgId: string, partyId: string) => `${orgId}:${partyId}`;

/** The view an event gives of a party's default address. */
export function addressView(event: Envelope<'contact.primaryChanged'>): RecipientAddressDoc {
  const { partyId, primary, changedAt } = event.data;
  const email = primary?.kind === 'email' ? primary : null;
  return {
    _id: key(event.orgId, partyId),
    orgId: event.orgId,
    partyId,
    email: email?.value ?? null,
    channelId: email?.channelId ?? null,
    changedAt: new Date(changedAt),
  };
}

export class RecipientAddresses {
  private constructor(
    private readonly model: Model<RecipientAddressDoc>,
    private readonly updateBatch: number,
  ) {}

  static open(db: Connection, updateBatch: number): RecipientAddresses {
    const model = modelOf<RecipientAddressDoc>(db, 'RecipientAddress', schema);
    return new RecipientAddresses(model, updateBatch);
  }

  async apply(events: readonly Envelope<'contact.primaryChanged'>[]): Promise<void> {
    await upsertNewer(this.updateBatch, this.model, events.map(addressView));
  }

  of(orgId: string, partyId: string): Promise<RecipientAddressDoc | null> {
    return this.model.findById(key(orgId, partyId)).lean<RecipientAddressDoc>().exec();
  }
}
