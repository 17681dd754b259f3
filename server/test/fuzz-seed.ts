import fc from 'fast-check';
import { inject } from 'vitest';

import type {} from './provided.js';

// Every fc.assert of the run uses the run's seed (printed by global-setup), so a property failure
// is replayed with FUZZ_SEED=<n>; the hand-rolled fuzzers read the same variable.
const seed = inject('fuzzSeed');
process.env.FUZZ_SEED = String(seed);
fc.configureGlobal({ seed });
