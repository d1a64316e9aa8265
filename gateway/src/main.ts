import { runUntilSignal } from '@relais/shared';
import { loadGatewayConfig } from './config';
import { serviceRoutes } from './routes';
import { startGateway } from './server';

await runUntilSignal(() => startGateway(loadGatewayConfig(), serviceRoutes));
