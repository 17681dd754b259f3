// Running from source (tests, `npm start -w server`): the worker registers tsx before loading its
// TypeScript. The built server starts server/dist/search.dedup.worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./search.dedup.worker.ts');
