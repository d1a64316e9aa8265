import type { ContactActions } from '../data/contactActions';
import type { Parties } from '../data/parties';
import type { Files } from '../files';

/**
 * What the contacts actions work with, opened when the service starts: the actions are built
 * before that, so they read these fields at call time, never at definition time.
 */
export interface ContactsDeps {
  parties: Parties;
  files: Files;
  contactActions: ContactActions;
}
