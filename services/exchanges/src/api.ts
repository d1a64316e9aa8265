import type { Route } from '@relais/shared';

export const routes: Route[] = [];
