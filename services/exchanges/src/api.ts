import { z } from 'zod';
import type { Route } from '@relais/shared';

/** The default address an exchange with a party is sent to (no HTTP route: exchanges' own routes use it). */
export const defaultAddressInput = z.strictObject({ partyId: z.uuid({ message: 'must be a party id (UUID)' }) });

export const routes: Route[] = [];
