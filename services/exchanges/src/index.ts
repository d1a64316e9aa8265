export { exchangesService, SERVICE } from './service';
