export * from './kubernetes-driver';
export * from './kubernetes-objects';
