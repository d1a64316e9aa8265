import { createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { exchangesConfigSchema } from './config';
import { exchangesService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(exchangesConfigSchema);
  const broker = createBroker({ config, name: 'exchanges', services: [exchangesService(config)] });
  await broker.start();
  return broker;
});
