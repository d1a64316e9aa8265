import { baseConfigSchema, createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { exchangesService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(baseConfigSchema);
  const broker = createBroker({ config, name: 'exchanges', services: [exchangesService(config)] });
  await broker.start();
  return broker;
});
