// `npm start`: runs the server from server/dist, rebuilding it first when a source file is newer
// than the build (a few milliseconds to check). The built server runs in this very process, so
// signals reach it directly and its exit code is the command's: SIGINT/SIGTERM stop it cleanly,
// embedded PostgreSQL included.
// File reads and writes (blobs, uploads, archives) run on libuv's thread pool, four threads by
// default; a zip of many small files or a batch of uploads waits on it. Set before first use.
process.env.UV_THREADPOOL_SIZE ??= '16';
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
