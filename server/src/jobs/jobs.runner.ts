import type { Kysely } from 'kysely';
import type pg from 'pg';
import { Logger as WorkerLogger, parseCrontab, run, runMigrations, runOnce, type JobHelpers, type Runner, type TaskList } from 'graphile-worker';
import type { Database } from '../database/database.js';
import type { Logger } from '../kernel/logger.js';
import { jobsStore } from './jobs.store.js';

export type TaskHandler = (payload: unknown, helpers: JobHelpers) => Promise<void>;

export interface EnqueueOptions {
  /** Jobs with the same key coalesce: a newer enqueue replaces a pending one (graphile-worker job_key). */
  jobKey?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/**
 * The background job runner: graphile-worker on the same PostgreSQL. Domains register tasks (and
 * optional cron schedules) at wiring time; `start()` runs them in this process, `stop()` lets
 * running jobs finish. Jobs are enqueued inside the caller's transaction, so a job exists exactly
 * when the change that asked for it committed.
 */
export class JobRunner {
  private readonly tasks: TaskList = {};
  private readonly cron: string[] = [];
  private schema: Promise<void> | undefined;
  private runner: Runner | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
  ) {
    // A checked-out client losing its connection must not crash the process (graphile-worker checks for this).
    if (pool.listenerCount('connect') === 0) pool.on('connect', (client) => client.on('error', () => {}));
  }

  register(name: string, handler: TaskHandler): void {
    if (this.tasks[name]) throw new Error(`job task ${name} is registered twice`);
    this.tasks[name] = (payload, helpers) => handler(payload, helpers);
  }

  /** A crontab line without the task, e.g. schedule('*\/15 * * * *', 'blobs:sweep'). */
  schedule(pattern: string, task: string, payload: Record<string, unknown> = {}): void {
    this.cron.push(Object.keys(payload).length ? `${pattern} ${task} ${JSON.stringify(payload)}` : `${pattern} ${task}`);
  }

  get taskNames(): string[] {
    return Object.keys(this.tasks);
  }

  /** Installs graphile-worker's own schema once per process (it has its own migrations and lock). */
  ready(): Promise<void> {
    this.schema ??= runMigrations({ pgPool: this.pool as never, logger: this.workerLogger() }).catch((e) => {
      this.schema = undefined;
      throw e;
    });
    return this.schema;
  }

  /** Adds a job through `db`, usually the caller's transaction. Call `ready()` before opening it. */
  async enqueue(db: Kysely<Database>, task: string, payload: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<void> {
    if (!this.tasks[task]) throw new Error(`unknown job task ${task}`);
    await jobsStore.addJob(db, { task, payloadJson: JSON.stringify(payload), runAt: opts.runAt ?? null, maxAttempts: opts.maxAttempts ?? null, jobKey: opts.jobKey ?? null });
  }

  async start(opts: { concurrency?: number; pollInterval?: number } = {}): Promise<void> {
    if (this.runner) return;
    await this.ready();
    this.runner = await run({
      pgPool: this.pool as never,
      taskList: this.tasks,
      parsedCronItems: parseCrontab(this.cron.join('\n')),
      concurrency: opts.concurrency ?? 2,
      pollInterval: opts.pollInterval ?? 2000,
      noHandleSignals: true,
      logger: this.workerLogger(),
    });
  }

  /** Lets running jobs finish, then releases the runner's connections. Safe to call twice. */
  async stop(): Promise<void> {
    const r = this.runner;
    this.runner = undefined;
    if (r) await r.stop();
  }

  /** Runs every job that is due now, then returns (tests and one-shot CLI commands). */
  async drain(): Promise<void> {
    await this.ready();
    await runOnce({ pgPool: this.pool as never, taskList: this.tasks, logger: this.workerLogger() });
  }

  private workerLogger(): WorkerLogger {
    return new WorkerLogger(() => (level, message, meta) => {
      const l = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
      this.log[l]({ ...(meta ?? {}), component: 'jobs' }, message);
    });
  }
}
