import type { ServiceSchema } from 'moleculer';
import { healthAction, openRuntime, type BaseConfig, type ServiceRuntime } from '@relais/shared';

export const SERVICE = 'domiciliation';

export function domiciliationService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),
    },
    async started() {
      rt = await openRuntime(config, SERVICE, this.logger as never);
    },
    async stopped() {
      await rt?.close();
      rt = null;
    },
  };
}
