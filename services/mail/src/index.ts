export { mailService, SERVICE } from './service';
