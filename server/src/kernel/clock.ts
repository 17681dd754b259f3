/** One clock for the server so tests can reason about time without monkey-patching Date. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
