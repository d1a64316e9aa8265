import { baseConfigSchema, createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { notificationsService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(baseConfigSchema);
  const broker = createBroker({ config, name: 'notifications', services: [notificationsService(config)] });
  await broker.start();
  return broker;
});
