export { startServer, runMigrations, createFirstAdmin, withServices, main, type RunningServer } from './main.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export type { Services } from './services.js';
export { backupTo, restoreFrom, type RestoreReport } from './backup/backup.run.js';
export { BackupError, type Manifest as BackupManifest, type Progress as BackupProgress } from './backup/backup.service.js';
