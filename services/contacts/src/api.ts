import type { Route } from '@relais/shared';
import { channelRoutes } from './contract/channels';
import { contactActionRoutes } from './contract/contactActions';
import { partyRoutes } from './contract/parties';
import { peopleRoutes } from './contract/people';

/** Request and response shapes of the contacts service: action params, HTTP routes and OpenAPI all come from here. */
export * from './contract/channels';
export * from './contract/contactActions';
export * from './contract/parties';
export * from './contract/people';

export const routes: Route[] = [...peopleRoutes, ...partyRoutes, ...channelRoutes, ...contactActionRoutes];
