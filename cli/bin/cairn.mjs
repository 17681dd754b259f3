#!/usr/bin/env node
// Runs the TypeScript sources directly: registering tsx in-process is the same as
// `node --import tsx cli/src/main.ts`, without a second Node process between the user and the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
