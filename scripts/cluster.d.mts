// Types for scripts/cluster.mjs, imported by TypeScript callers (server tests, bench/).
export declare const HAPROXY: string;
export declare const BUCKET: string;
export declare function freePort(): Promise<number>;

export interface ClusterOptions {
  /** Cairn nodes (default 3). */
  nodes?: number;
  /** Where everything lives; default a new temp directory, removed on stop. */
  dir?: string;
  /** HAProxy's port (default: a free one). */
  port?: number;
  /** Added to every node's environment. */
  env?: Record<string, string>;
  /** Children's output on this terminal. */
  verbose?: boolean;
  /** false: no HAProxy (`url` is then the first node's). */
  haproxy?: boolean;
  /** Keep the temp directory on stop. */
  keep?: boolean;
}

export interface Cluster {
  url: string;
  nodes: { name: string; url: string; port: number }[];
  databaseUrl: string;
  s3Endpoint: string;
  dir: string;
  pids(): { nodes: (number | undefined)[]; haproxy?: number; s3?: number; postgres?: number };
  stderr(i: number): string;
  kill(i: number): Promise<void>;
  restart(i: number): Promise<void>;
  restartDatabase(options?: { downMs?: number }): Promise<void>;
  restartS3(): Promise<void>;
  stop(): Promise<void>;
}

export declare function startCluster(options?: ClusterOptions): Promise<Cluster>;
