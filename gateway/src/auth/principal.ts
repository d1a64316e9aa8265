import type { AuthContext, OrgContext, PortalContext } from '@relais/shared';

/**
 * Who a verified bearer token speaks for: what the HTTP layer passes to an operation. Types only,
 * apart from the store that verifies tokens, so operations do not depend on it.
 */
export interface Principal {
  auth: AuthContext;
  org: OrgContext;
  tokenId: string;
}

/** Who a verified portal token speaks for: a client's contact, on portal routes only. */
export interface PortalPrincipal {
  portal: PortalContext;
  org: OrgContext;
}
