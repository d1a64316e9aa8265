import type { PortalPrincipal, Principal } from '../auth/principal';

// What the gateway's middlewares put on `res.locals` for the handlers and the access log after them.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares its locals in this namespace
  namespace Express {
    interface Locals {
      /** Set first (requestId middleware): the id every log line and problem of the request carries. */
      requestId: string;
      /** The route template (`/v1/people/:id`), once a route matched: the access log groups by it. */
      route?: string;
      /** The authenticated caller, once the auth middleware let the request through. */
      principal?: Principal;
      /** A client's contact signed in to the portal, on portal routes. */
      portal?: PortalPrincipal;
    }
  }
}
