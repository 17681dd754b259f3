// `npm start`: runs the server from server/dist, rebuilding it first when a source file is newer
// than the build (a few milliseconds to check). The built server runs in this very process, so
// signals reach it directly and its exit code is the command's: SIGINT/SIGTERM stop it cleanly,
// embedded PostgreSQL included.
import { ensureServerBuilt } from './build-server.mjs';

let entry;
try {
  entry = await ensureServerBuilt();
} catch (e) {
  process.stderr.write(`cairn: building the server failed: ${e.message}\n`);
  process.exit(1);
}
const { main } = await import(entry);
await main();
