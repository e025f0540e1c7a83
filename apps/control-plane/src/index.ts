export { createApp, type App, type AppDeps } from './app';
export { loadConfig, type Config } from './config';
