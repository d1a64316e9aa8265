export { notificationsService, SERVICE } from './service';
