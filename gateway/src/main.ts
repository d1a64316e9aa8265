import { ConfigError, runUntilSignal } from '@relais/shared';
import { twilioCallbacks } from './callbacks/twilio';
import { loadGatewayConfig } from './config';
import { serviceRoutes } from './routes';
import { startGateway } from './server';

await runUntilSignal(async () => {
  const config = loadGatewayConfig();
  if (config.TWILIO_AUTH_TOKEN && !config.PUBLIC_BASE_URL) {
    throw new ConfigError('Invalid configuration:\n  PUBLIC_BASE_URL is not set (required with TWILIO_AUTH_TOKEN)');
  }
  // The callback relays verified reports to the notifications service through the gateway's broker.
  const callbacks = config.TWILIO_AUTH_TOKEN
    ? twilioCallbacks({
        authToken: config.TWILIO_AUTH_TOKEN,
        publicBaseUrl: config.PUBLIC_BASE_URL!,
        onStatus: (report) => gateway.broker.call('notifications.providerStatus', report, { meta: { system: true } }),
      })
    : undefined;
  // Reports arrive only once the gateway listens, so `gateway` is set by then.
  const gateway = await startGateway(config, serviceRoutes, { callbacks });
  return gateway;
});
