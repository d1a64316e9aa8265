import { baseConfigSchema, createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { contactsService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(baseConfigSchema);
  const broker = createBroker({ config, name: 'contacts', services: [contactsService(config)] });
  await broker.start();
  return broker;
});
