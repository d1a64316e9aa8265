import { compileTemplate, defaultTemplate, type Render, type SmsKind } from './templates';
import type { OrgSettings } from './settings';

type OrgTexts = Pick<OrgSettings, 'templates' | 'defaultWording'>;

/** Compiles each template source once and keeps it (templates change rarely, renders are per SMS). */
export class TemplateBook {
  private readonly compiled = new Map<string, Render>();

  source(org: OrgTexts, kind: SmsKind): string {
    return org.templates[kind] ?? defaultTemplate(org.defaultWording, kind);
  }

  render(org: OrgTexts, kind: SmsKind, vars: Record<string, unknown>): string {
    const source = this.source(org, kind);
    let render = this.compiled.get(source);
    if (!render) {
      render = compileTemplate(source);
      this.compiled.set(source, render);
    }
    return render(vars);
  }
}
