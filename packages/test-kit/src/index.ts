export * from './fake-clock';
export * from './wait-for';
export * from './test-postgres';
export * from './rfb-probe';
export * from './vnc-des';
export * from './test-xvnc';
export * from './byte-reader';
export * from './session-image';
