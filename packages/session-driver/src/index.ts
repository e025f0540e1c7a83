export * from './session-driver';
export * from './driver-error';
