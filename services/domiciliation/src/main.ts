import { baseConfigSchema, createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { domiciliationService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(baseConfigSchema);
  const broker = createBroker({ config, name: 'domiciliation', services: [domiciliationService(config)] });
  await broker.start();
  return broker;
});
