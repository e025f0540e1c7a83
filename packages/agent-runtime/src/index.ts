export * from './agent-runtime';
export * from './agent-cli';
export * from './command-executor';
export * from './credentials-file';
export * from './enroll-agent';
export * from './outcome-store';
export * from './reconnect-backoff';
