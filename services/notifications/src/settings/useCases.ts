import { validationError } from '@relais/shared';
import type { z } from 'zod';
import type { previewInput, updateSettingsInput } from '../api';
import type { Clock } from '../clock';
import { smsSize, ucs2Characters } from '../delivery/sms';
import type { Weekday } from '../planning/slots';
import { settingsView, templatesView } from '../views';
import type { SettingsCache } from './cache';
import type { SettingsRepo } from './repo';
import { applySettings, type OrgSettings } from './settings';
import type { TemplateBook } from './templateBook';
import { SMS_KINDS, SMS_KIND_LABELS, sampleVariables, templateProblem, type SmsKind } from './templates';

/** What planning does around a save of an org's settings (see Planning.beforeSave and afterSave). */
export interface SettingsHooks {
  beforeSave(current: OrgSettings, next: OrgSettings, now: Date): Promise<void>;
  afterSave(current: OrgSettings, next: OrgSettings, now: Date): Promise<void>;
}

/** Who saves, and the org's own zone (the settings' zone until an admin saves one). */
export interface Editor {
  orgId: string;
  userId: string;
  zone: string;
}

/**
 * The org's SMS settings and templates, as admins read, preview and change them. Every save goes
 * through one path: planning is told before and after (slots and reminders follow the new zone and
 * send days), and the send loop's cache forgets the org.
 */
export class SettingsUseCases {
  constructor(private readonly deps: { repo: SettingsRepo; cache: SettingsCache; templates: TemplateBook; hooks: SettingsHooks; clock: Clock }) {}

  /** The org's settings, or the defaults in the org's own zone when it never saved any. */
  current(orgId: string, zone: string): Promise<OrgSettings> {
    return this.deps.repo.orDefault(orgId, zone);
  }

  async view(orgId: string, zone: string) {
    return settingsView(await this.current(orgId, zone), this.deps.clock.now());
  }

  async update(input: z.output<typeof updateSettingsInput>, who: Editor) {
    const current = await this.current(who.orgId, who.zone);
    const result = applySettings(current, { ...input, sendDays: input.sendDays as Weekday[] | undefined });
    if (!result.ok) {
      throw validationError(`Invalid settings: ${result.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, result.problems);
    }
    return settingsView(await this.save(current, result.settings, who), this.deps.clock.now());
  }

  /** The texts each kind would have with the draft's templates, signature and wording, nothing saved. */
  async preview(input: z.output<typeof previewInput>, orgId: string, zone: string) {
    const stored = await this.current(orgId, zone);
    const draft = { ...stored, templates: { ...stored.templates, ...input.templates }, defaultWording: input.defaultWording ?? stored.defaultWording };
    const signature = input.signature ?? stored.signature ?? '';
    const problems = SMS_KINDS.flatMap((kind) => {
      const problem = input.templates?.[kind] ? templateProblem(kind, input.templates[kind]) : null;
      return problem ? [{ path: `templates.${kind}`, message: problem }] : [];
    });
    if (problems.length) throw validationError(`Invalid template: ${problems[0].message}`, problems);
    return {
      senderId: input.senderId ?? stored.senderId,
      previews: SMS_KINDS.map((kind) => {
        const text = this.deps.templates.render(draft, kind, sampleVariables(kind, signature));
        const size = smsSize(text);
        return {
          kind,
          label: SMS_KIND_LABELS[kind],
          text,
          encoding: size.encoding,
          characters: size.characters,
          segments: size.segments,
          ucs2Characters: ucs2Characters(text),
        };
      }),
    };
  }

  async templates(orgId: string, zone: string) {
    return templatesView(await this.current(orgId, zone), this.deps.templates);
  }

  async setTemplate(kind: SmsKind, source: string, who: Editor) {
    const problem = templateProblem(kind, source);
    if (problem) throw validationError(`Invalid template: ${problem}`, [{ path: 'source', message: problem }]);
    const current = await this.current(who.orgId, who.zone);
    return templatesView(await this.save(current, { ...current, templates: { ...current.templates, [kind]: source } }, who), this.deps.templates);
  }

  async resetTemplate(kind: SmsKind, who: Editor) {
    const current = await this.current(who.orgId, who.zone);
    const rest = { ...current.templates };
    delete rest[kind];
    return templatesView(await this.save(current, { ...current, templates: rest }, who), this.deps.templates);
  }

  private async save(current: OrgSettings, changed: OrgSettings, who: Editor): Promise<OrgSettings> {
    const now = this.deps.clock.now();
    const next: OrgSettings = { ...changed, version: current.version + 1, updatedAt: now, updatedBy: who.userId };
    await this.deps.hooks.beforeSave(current, next, now);
    await this.deps.repo.save(next);
    this.deps.cache.forget(who.orgId);
    await this.deps.hooks.afterSave(current, next, now);
    return next;
  }
}
