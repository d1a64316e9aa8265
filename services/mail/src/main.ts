import { baseConfigSchema, createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { mailService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(baseConfigSchema);
  const broker = createBroker({ config, name: 'mail', services: [mailService(config)] });
  await broker.start();
  return broker;
});
