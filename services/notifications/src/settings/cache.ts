import type { SettingsRepo } from './repo';
import type { OrgSettings } from './settings';

/** Org settings read at most once per `ttlMs` by the send loop (they change rarely; the switch is re-read soon enough). */
export class SettingsCache {
  private readonly entries = new Map<string, { at: number; settings: OrgSettings }>();

  constructor(
    private readonly repo: SettingsRepo,
    private readonly ttlMs: number,
  ) {}

  async get(orgId: string): Promise<OrgSettings> {
    const hit = this.entries.get(orgId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.settings;
    const settings = await this.repo.orDefault(orgId);
    this.entries.set(orgId, { at: Date.now(), settings });
    return settings;
  }

  forget(orgId: string): void {
    this.entries.delete(orgId);
  }
}
