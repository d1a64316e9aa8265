import mongoose, { type Connection, type Model } from 'mongoose';
import { DEFAULT_TIME_ZONE } from '@relais/shared';
import { defaultSettings, type OrgSettings } from './settings';
import { DEFAULT_WORDINGS, SMS_KINDS, type DefaultWording, type SmsKind } from './templates';

/**
 * Custom templates are stored as a list of { kind, source }: the kinds hold dots ('mail.letter'),
 * which FerretDB refuses as field names and MongoDB discourages.
 */
interface StoredTemplate {
  kind: string;
  source: string;
}

interface SettingsDoc extends Omit<OrgSettings, 'orgId' | 'templates' | 'defaultWording'> {
  _id: string;
  customTemplates?: StoredTemplate[];
  /** The earlier shape, an object keyed by kind: only read, never written (MongoDB may hold it). */
  templates?: Record<string, unknown>;
  /** Absent from settings saved before the choice existed. */
  defaultWording?: DefaultWording;
}

const storedTemplateSchema = new mongoose.Schema<StoredTemplate>(
  { kind: { type: String, required: true }, source: { type: String, required: true } },
  { _id: false },
);

const schema = new mongoose.Schema<SettingsDoc>(
  {
    _id: { type: String, required: true },
    smsEnabled: { type: Boolean, required: true },
    senderId: { type: String, default: null },
    signature: { type: String, default: null },
    sendDays: { type: [Number], required: true },
    timeZone: { type: String, required: true },
    customTemplates: { type: [storedTemplateSchema], default: [] },
    templates: { type: mongoose.Schema.Types.Mixed },
    defaultWording: { type: String, enum: DEFAULT_WORDINGS, default: 'standard' },
    version: { type: Number, required: true },
    updatedAt: { type: Date, default: null },
    updatedBy: { type: String, default: null },
  },
  { versionKey: false, collection: 'org_settings', minimize: false },
);
// Serves the scheduler's list of orgs that send SMS: { smsEnabled: true }.
schema.index({ smsEnabled: 1 });

const isKind = (kind: string): kind is SmsKind => (SMS_KINDS as readonly string[]).includes(kind);

/** An org's custom templates from either stored shape; the list wins over the earlier object. Pure. */
export function storedTemplates(doc: Pick<SettingsDoc, 'customTemplates' | 'templates'>): OrgSettings['templates'] {
  const entries = doc.customTemplates ?? Object.entries(doc.templates ?? {}).map(([kind, source]) => ({ kind, source }));
  const out: OrgSettings['templates'] = {};
  for (const { kind, source } of entries) if (isKind(kind) && typeof source === 'string') out[kind] = source;
  return out;
}

const toSettings = ({ _id, customTemplates, templates, defaultWording, ...rest }: SettingsDoc): OrgSettings => ({
  orgId: _id,
  ...rest,
  templates: storedTemplates({ customTemplates, templates }),
  defaultWording: defaultWording ?? 'standard',
});

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

  /** Replaces the org's document, so an earlier `templates` object goes with the rest. */
  /**
   * The org's settings, or the defaults when it never saved any: in `zone`, the org's own zone where
   * the caller knows it (a request's org), else Paris.
   */
  async orDefault(orgId: string, zone: string = DEFAULT_TIME_ZONE): Promise<OrgSettings> {
    return (await this.get(orgId)) ?? defaultSettings(orgId, zone);
  }

  async save(settings: OrgSettings): Promise<void> {
    const { orgId, templates, ...rest } = settings;
    const customTemplates = SMS_KINDS.flatMap((kind) => (templates[kind] === undefined ? [] : [{ kind, source: templates[kind] }]));
    await this.model.replaceOne({ _id: orgId }, { ...rest, customTemplates }, { upsert: true }).exec();
  }

  /** Orgs whose SMS are on (system-wide: the scheduler serves every org). */
  async smsEnabled(): Promise<OrgSettings[]> {
    return (await this.model.find({ smsEnabled: true }).lean<SettingsDoc[]>().exec()).map(toSettings);
  }
}
