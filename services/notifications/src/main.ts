import { createBroker, loadConfig, runUntilSignal } from '@relais/shared';
import { notificationsConfigSchema } from './config';
import { providersFromConfig, withProvidersConfig } from './sending/providers';
import { notificationsService } from './service';

await runUntilSignal(async () => {
  const config = loadConfig(withProvidersConfig(notificationsConfigSchema));
  const providers = providersFromConfig(config);
  const broker = createBroker({
    config,
    name: 'notifications',
    services: [notificationsService(config, { smsProvider: providers.sms, emailProvider: providers.email, rehearsals: config.NODE_ENV !== 'production' })],
  });
  await broker.start();
  return {
    async stop() {
      await broker.stop();
      providers.close();
    },
  };
});
