import type { Attachments } from '../data/attachments';
import type { ClientContacts } from '../data/clientContacts';
import type { ContactActions } from '../data/contactActions';
import type { Notes } from '../data/notes';
import type { Parties } from '../data/parties';
import type { ContactSettings } from '../data/settings';
import type { Files } from '../files';
import type { Rescreen } from '../rescreen';
import type { Screening } from '../screening';

/**
 * What the contacts actions work with, opened when the service starts: the actions are built
 * before that, so they read these fields at call time, never at definition time.
 */
export interface ContactsDeps {
  parties: Parties;
  files: Files;
  notes: Notes;
  settings: ContactSettings;
  contactActions: ContactActions;
  attachments: Attachments;
  clientContacts: ClientContacts;
  /** Asset-freeze screening: check subjects (at save, on demand), the log, decisions (see src/screening.ts). */
  screening: Screening;
  rescreen: Rescreen;
}
