export * from './docker-driver';
export * from './docker-labels';
