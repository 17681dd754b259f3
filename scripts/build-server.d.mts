// Types for scripts/build-server.mjs, imported by TypeScript callers (bench/).
export declare const DIST: string;
export declare const ENTRY: string;
export declare function isStale(): boolean;
export declare function buildServer(): Promise<{ ms: number; inputs: number }>;
export declare function ensureServerBuilt(options?: { quiet?: boolean }): Promise<string>;
