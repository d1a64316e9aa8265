export { domiciliationService, SERVICE } from './service';
