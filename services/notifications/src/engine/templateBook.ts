import { compileTemplate, DEFAULT_TEMPLATES, type Render, type SmsKind } from '../domain/templates';
import type { OrgSettings } from '../domain/settings';

/** Compiles each template source once and keeps it (templates change rarely, renders are per SMS). */
export class TemplateBook {
  private readonly compiled = new Map<string, Render>();

  source(org: Pick<OrgSettings, 'templates'>, kind: SmsKind): string {
    return org.templates[kind] ?? DEFAULT_TEMPLATES[kind];
  }

  render(org: Pick<OrgSettings, 'templates'>, kind: SmsKind, vars: Record<string, unknown>): string {
    const source = this.source(org, kind);
    let render = this.compiled.get(source);
    if (!render) {
      render = compileTemplate(source);
      this.compiled.set(source, render);
    }
    return render(vars);
  }
}
