export { contactsService, SERVICE } from './service';
