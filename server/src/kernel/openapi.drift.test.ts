import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/harness.js';

// docs/openapi.json is the API's checked-in contract: a route or schema change that forgets
// `npm run openapi` fails here instead of shipping a document that lies.
const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/openapi.json');

let t: Awaited<ReturnType<typeof createTestApp>>;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('docs/openapi.json', () => {
  it('is what the server generates (run `npm run openapi` after changing a route)', () => {
    const generated = JSON.parse(JSON.stringify(t.app.swagger()));
    const checkedIn = JSON.parse(fs.readFileSync(DOC, 'utf8'));
    const paths = (d: { paths: Record<string, Record<string, unknown>> }) => Object.entries(d.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(paths(checkedIn), 'operations').toEqual(paths(generated));
    expect(checkedIn, 'schemas and descriptions').toEqual(generated);
  });
});
