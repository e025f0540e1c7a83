export * from './local-driver';
