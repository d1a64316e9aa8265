import type { Route } from '@relais/shared';
import { attachmentRoutes } from './contract/attachments';
import { channelRoutes } from './contract/channels';
import { clientContactRoutes } from './contract/clientContacts';
import { contactActionRoutes } from './contract/contactActions';
import { noteRoutes } from './contract/notes';
import { partyRoutes } from './contract/parties';
import { peopleRoutes } from './contract/people';
import { screeningRoutes } from './contract/screening';
import { settingsRoutes } from './contract/settings';

/** Request and response shapes of the contacts service: action params, HTTP routes and OpenAPI all come from here. */
export * from './contract/channels';
export * from './contract/clientContacts';
export * from './contract/contactActions';
export * from './contract/notes';
export * from './contract/parties';
export * from './contract/people';
export * from './contract/screening';
export * from './contract/settings';
export * from './contract/vocabulary';

export const routes: Route[] = [
  ...peopleRoutes,
  ...partyRoutes,
  ...channelRoutes,
  ...contactActionRoutes,
  ...noteRoutes,
  ...settingsRoutes,
  ...attachmentRoutes,
  ...clientContactRoutes,
  ...screeningRoutes,
];
