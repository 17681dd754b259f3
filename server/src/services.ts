import type pg from 'pg';
import type { Db } from './database/database.js';
import type { Config } from './config.js';
import type { Logger } from './kernel/logger.js';
import { systemClock, type Clock } from './kernel/clock.js';
import { CacheBus } from './kernel/cache.js';
import { LedgerService } from './ledger/ledger.service.js';
import { LedgerOperations } from './ledger/ledger.operations.js';
import { AuthKeys } from './auth/auth.shared.js';
import { AccountsService } from './auth/accounts.service.js';
import { CredentialsService } from './auth/credentials.service.js';
import { SessionsService } from './auth/sessions.service.js';
import { SetupService } from './auth/setup.service.js';
import { ApiTokensService } from './auth/api-tokens.service.js';
import { TotpService } from './auth/totp.service.js';
import { RecoveryCodesService } from './auth/recovery-codes.service.js';
import { UsersService } from './users/users.service.js';
import { WorkspacesService } from './workspaces/workspaces.service.js';
import { EventTypesService } from './event-types/event-types.service.js';
import { EventsService } from './event-types/events.service.js';
import { GrantsService } from './apps/apps.grants.js';
import { AppsService } from './apps/apps.service.js';
import path from 'node:path';
import { createBlobStore } from './blobs/blobs.config.js';
import { JobRunner } from './jobs/jobs.runner.js';
import { DatasetsService } from './datasets/datasets.service.js';
import { DatasetSharingService } from './datasets/dataset-sharing.service.js';
import { DatasetVersionsService } from './datasets/dataset-versions.service.js';
import { UploadsService } from './datasets/datasets.uploads.js';
import { registerDatasetJobs } from './datasets/datasets.jobs.js';
import { InstrumentsService } from './instruments/instruments.service.js';
import { SubjectsService } from './datahub/subjects.service.js';
import { RecordsService } from './datahub/records.service.js';
import { ExportsService } from './datahub/exports.service.js';
import { ImportsService } from './datahub/imports.service.js';
import { DatahubService } from './datahub/datahub.service.js';
import { ViewRunsService } from './views/view-runs.service.js';
import { ViewTemplatesService } from './views/view-templates.service.js';
import { ViewInstancesService } from './views/view-instances.service.js';
import { Projector } from './projections/projector.js';
import { ProjectionsService } from './projections/projections.service.js';
import { supersededProjection } from './event-types/events.projection.js';
import { recordsProjection } from './datahub/records.projection.js';
import { LocationsService } from './locations/locations.service.js';
import { RegistrationsService } from './registrations/registrations.service.js';
import { registrationsProjection } from './registrations/registrations.projection.js';
import { RegistrationStatsService } from './registrations/registration-stats.service.js';
import { SearchService } from './search/search.service.js';
import { registrationSearchProjection } from './search/search.projection.js';
import { LegacyImportService } from './search/legacy-import.service.js';
import { checkDeduplication } from './search/search.index.js';
import { AssignmentsService } from './assignments/assignments.service.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { NotifiersService } from './notifiers/notifiers.service.js';
import { HomeService } from './home/home.service.js';
import { HealthService } from './health/health.service.js';

export type ResolvedConfig = Config & { secret: string };

/**
 * The one place services are wired together. Routes, workers, the CLI and tests all get their
 * services from here, so a service is constructed the same way everywhere.
 */
export function createServices(deps: { config: ResolvedConfig; db: Db; pool: pg.Pool; log: Logger; clock?: Clock }) {
  const clock = deps.clock ?? systemClock;
  // Caches of per-request lookups; they serve only once a server enables the bus (app.ts).
  const cache = new CacheBus(deps.pool.options, deps.log);
  const ledger = new LedgerService(deps.db, clock);
  const ledgerOperations = new LedgerOperations(deps.db);
  // Projections of the ledger (docs/architecture.md, "Projections"); domains register theirs below.
  const projector = new Projector(deps.db, ledger, deps.log);
  const projections = new ProjectionsService(projector);
  const authKeys = new AuthKeys(deps.config.secret);
  const accounts = new AccountsService(deps.db, ledger, cache);
  const credentials = new CredentialsService(deps.db, authKeys, clock, cache, accounts);
  const sessions = new SessionsService(deps.db, ledger, deps.config, clock, cache, authKeys, accounts);
  const setup = new SetupService(deps.db, ledger, sessions);
  const apiTokens = new ApiTokensService(deps.db, ledger, clock, cache);
  const totp = new TotpService(deps.db, ledger, deps.config, clock, authKeys, accounts);
  const recoveryCodes = new RecoveryCodesService(deps.db, ledger, clock, authKeys);
  const users = new UsersService(deps.db, ledger, accounts, sessions);
  const workspaces = new WorkspacesService(deps.db, ledger);
  const eventTypes = new EventTypesService(deps.db, ledger, cache);
  const grants = new GrantsService(deps.db, ledger, eventTypes, cache);
  const events = new EventsService(deps.db, ledger, grants);
  projector.register(supersededProjection);
  const apps = new AppsService(deps.db, ledger, eventTypes, clock, {
    associationTtlSeconds: 24 * 3600,
    accessTokenTtlSeconds: deps.config.accessTokenTtlSeconds,
    defaultRateLimitPerMinute: 600,
  }, cache);
  credentials.bearerResolvers.push((token, meta) => apps.fromBearer(token, meta));
  const instruments = new InstrumentsService(deps.db, ledger, clock);
  const subjects = new SubjectsService(deps.db, ledger, workspaces, clock, deps.config.secret);
  const records = new RecordsService(deps.db, ledger, subjects, instruments, clock);
  projector.register(recordsProjection);
  const exports = new ExportsService(deps.db, deps.pool, subjects, workspaces, instruments);
  const imports = new ImportsService(deps.db, ledger, subjects, workspaces, instruments, clock);
  const datahub = new DatahubService(deps.db, workspaces, subjects, imports, instruments, clock);
  const jobs = new JobRunner(deps.pool, deps.log);
  const blobs = createBlobStore(deps.config.blobs, deps.config.dataDir);
  const datasetVersions = new DatasetVersionsService(deps.db, ledger, blobs, jobs, deps.config, deps.log);
  const datasets = new DatasetsService(deps.db, ledger, blobs, jobs, datasetVersions);
  const datasetSharing = new DatasetSharingService(deps.db, ledger);
  // Resumable uploads are staged next to the blobs so taking one in is a rename, not a copy.
  const uploadDir = deps.config.uploadDir ?? (deps.config.blobs.store === 'local' ? path.join(deps.config.blobs.dir ?? path.join(deps.config.dataDir, 'blobs'), '.tus') : path.join(deps.config.dataDir, 'uploads'));
  const uploads = new UploadsService(deps.db, deps.pool, blobs, datasetVersions, { ...deps.config, uploadDir }, deps.log);
  registerDatasetJobs(jobs, { versions: datasetVersions, uploads, blobs, pool: deps.pool, log: deps.log, gcGraceSeconds: deps.config.blobGcGraceSeconds });
  // The view sandbox starts on first use (see ViewRunsService.warmUp) and stops when the app closes.
  const viewRuns = new ViewRunsService(deps.db, grants, deps.log, {
    pythonWorkers: 1,
    pythonMaxRuns: deps.config.viewsPythonMaxRuns,
    pythonMemoryMb: deps.config.viewsPythonMemoryMb,
    maxQueued: deps.config.viewsMaxQueued,
  });
  const viewTemplates = new ViewTemplatesService(deps.db, ledger, eventTypes, viewRuns);
  const viewInstances = new ViewInstancesService(deps.db, ledger, apps, grants, viewRuns);
  const locations = new LocationsService(deps.db, deps.pool, ledger, clock);
  const registrations = new RegistrationsService(deps.db, ledger, blobs, clock, deps.config.secret, deps.log);
  projector.register(registrationsProjection);
  const registrationStats = new RegistrationStatsService(deps.db, registrations, clock);
  // Search reads the registrations projection's rows in the same transaction: registered after it.
  const search = new SearchService(deps.db, registrations, deps.log);
  registrations.duplicateCheckers.push(search.duplicateChecker);
  registrations.typeDocumentChecks.push(checkDeduplication);
  projector.register(registrationSearchProjection(search.loadType));
  const legacyImport = new LegacyImportService(deps.db, ledger, registrations, search, clock);
  const assignments = new AssignmentsService(deps.db, ledger, subjects, instruments, records, clock, deps.config.remoteCapture, deps.config.secret, deps.log);
  // Outbound webhooks follow the ledger like an async projection and deliver through the job queue.
  const webhooks = new WebhooksService(deps.db, ledger, jobs, clock, deps.config.secret, deps.log);
  const notifiers = new NotifiersService(deps.db, ledger, registrations, clock);
  const home = new HomeService(deps.db, clock, workspaces, registrations);
  const health = new HealthService(deps.db, blobs, projections);
  return { ...deps, clock, cache, ledger, accounts, credentials, sessions, setup, apiTokens, totp, recoveryCodes, users, workspaces, eventTypes, grants, events, apps, instruments, subjects, records, exports, imports, datahub, jobs, blobs, datasets, datasetVersions, datasetSharing, uploads, viewTemplates, viewInstances, viewRuns, locations, projector, projections, registrations, registrationStats, search, legacyImport, webhooks, notifiers, home, assignments, health, ledgerOperations };
}

export type Services = ReturnType<typeof createServices>;
