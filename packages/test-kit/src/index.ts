export * from './fake-clock';
export * from './wait-for';
export * from './test-postgres';
