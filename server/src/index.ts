export { startServer, runMigrations, createFirstAdmin, withServices, main, type RunningServer } from './main.js';
export { loadConfig, ConfigError, type Config } from './kernel/config.js';
export type { Services } from './services.js';
