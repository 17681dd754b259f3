// What the global setup provides to every test file (see global-setup.ts).
declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string (to the `postgres` database) of the run's throwaway cluster. */
    pgAdminUrl: string;
    fuzzSeed: number;
  }
}
export {};
