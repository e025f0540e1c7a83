import { LoginResponse, User, type LoginRequest } from '@streamspace/protocol';
import { apiRequest } from './api-client';

export const authApi = {
  login: (body: LoginRequest) =>
    apiRequest('POST', '/auth/login', LoginResponse, { body, skipUnauthenticatedHandler: true }),
  logout: () => apiRequest('POST', '/auth/logout', null, { skipUnauthenticatedHandler: true }),
  /** Who is signed in; a 401 here just means "nobody", so it skips the expiry handler. */
  me: () => apiRequest('GET', '/auth/me', User, { skipUnauthenticatedHandler: true }),
};
