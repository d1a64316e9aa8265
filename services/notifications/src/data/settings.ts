import mongoose, { type Connection, type Model } from 'mongoose';
import type { OrgSettings } from '../domain/settings';

interface SettingsDoc extends Omit<OrgSettings, 'orgId'> {
  _id: string;
}

const schema = new mongoose.Schema<SettingsDoc>(
  {
    _id: { type: String, required: true },
    smsEnabled: { type: Boolean, required: true },
    senderId: { type: String, default: null },
    signature: { type: String, default: null },
    sendDays: { type: [Number], required: true },
    timeZone: { type: String, required: true },
    templates: { type: mongoose.Schema.Types.Mixed, default: {} },
    version: { type: Number, required: true },
    updatedAt: { type: Date, default: null },
    updatedBy: { type: String, default: null },
  },
  { versionKey: false, collection: 'org_settings', minimize: false },
);
// Serves the scheduler's list of orgs that send SMS: { smsEnabled: true }.
schema.index({ smsEnabled: 1 });

const toSettings = ({ _id, ...rest }: SettingsDoc): OrgSettings => ({ orgId: _id, ...rest, templates: rest.templates ?? {} });

/** One document per org, keyed by the org id (so scoped by construction). */
export class SettingsRepo {
  private constructor(private readonly model: Model<SettingsDoc>) {}

  static open(db: Connection): SettingsRepo {
    return new SettingsRepo(db.model<SettingsDoc>('OrgSettings', schema));
  }

  init = () => this.model.createIndexes();

  async get(orgId: string): Promise<OrgSettings | null> {
    const doc = await this.model.findById(orgId).lean<SettingsDoc>().exec();
    return doc ? toSettings(doc) : null;
  }

  async save(settings: OrgSettings): Promise<void> {
    const { orgId, ...rest } = settings;
    await this.model.replaceOne({ _id: orgId }, rest, { upsert: true }).exec();
  }

  /** Orgs whose SMS are on (system-wide: the scheduler serves every org). */
  async smsEnabled(): Promise<OrgSettings[]> {
    return (await this.model.find({ smsEnabled: true }).lean<SettingsDoc[]>().exec()).map(toSettings);
  }
}
