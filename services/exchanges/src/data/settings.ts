import mongoose, { type Connection, type Model } from 'mongoose';
import { modelOf } from '@relais/shared';
import { DEFAULT_SETTINGS, type ExchangeSettings } from '../domain/settings';

interface SettingsDoc extends ExchangeSettings {
  /** The org's id: one document per org, read by _id. */
  _id: string;
  updatedAt: Date;
  updatedBy: string;
}

const schema = new mongoose.Schema<SettingsDoc>(
  {
    _id: String,
    types: { type: mongoose.Schema.Types.Mixed, required: true },
    deleteWindowMinutes: { type: Number, required: true },
    portalPostDays: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  // No secondary index: read by _id only.
  { versionKey: false, collection: 'exchange_settings', minimize: false },
);

/** How long an instance trusts the settings it read: a change reaches every instance within it. */
const CACHE_MS = 2_000;

/** Each org's settings of exchanges; the defaults until an admin saves some. */
export class SettingsRepo {
  private readonly cache = new Map<string, { at: number; settings: ExchangeSettings }>();

  private constructor(private readonly model: Model<SettingsDoc>) {}

  static open(db: Connection): SettingsRepo {
    return new SettingsRepo(modelOf<SettingsDoc>(db, 'ExchangeSettings', schema));
  }

  async of(orgId: string): Promise<ExchangeSettings> {
    const hit = this.cache.get(orgId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.settings;
    const doc = await this.model.findById(orgId).lean<SettingsDoc>().exec();
    const settings = doc ? { types: doc.types, deleteWindowMinutes: doc.deleteWindowMinutes, portalPostDays: doc.portalPostDays } : DEFAULT_SETTINGS;
    this.cache.set(orgId, { at: Date.now(), settings });
    return settings;
  }

  async save(orgId: string, settings: ExchangeSettings, by: string): Promise<ExchangeSettings> {
    await this.model.updateOne({ _id: orgId }, { $set: { ...settings, updatedAt: new Date(), updatedBy: by } }, { upsert: true }).exec();
    this.cache.set(orgId, { at: Date.now(), settings });
    return settings;
  }
}
