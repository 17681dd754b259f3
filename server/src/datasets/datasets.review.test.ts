import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';

/**
 * Issue 10, item 12: a reviewer token that does not open a dataset answers exactly the same
 * whether the dataset exists or not, so sequential accessions cannot be probed for private ones.
 */

let app: App;
let stop: () => Promise<void>;
let admin: string;

const req = (method: string, url: string, authorization?: string, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: method as 'GET', url, headers: { ...(authorization ? { authorization } : {}), ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

/** Everything a prober sees of an answer, minus what differs on every request by design. */
const seen = (r: Awaited<ReturnType<typeof req>>) => {
  const body = r.json();
  delete body.error?.requestId;
  const headers = { ...r.headers };
  for (const h of ['x-request-id', 'date', 'content-length', 'connection', 'keep-alive']) delete headers[h];
  return { status: r.statusCode, body, headers };
};

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
});
afterAll(() => stop());

describe('reviewer tokens do not reveal which private datasets exist', () => {
  it('a bogus, a revoked and another dataset\'s token answer identically for an existing private accession and a missing one', async () => {
    const created = await req('POST', '/api/v1/datasets', admin, { title: 'Private study' });
    expect(created.statusCode, created.body).toBe(201);
    const accession = created.json().dataset.accession as string;
    const id = created.json().dataset.id as string;
    const m = /^(.*?)(\d+)$/.exec(accession)!;
    const missing = `${m[1]}${String(Number(m[2]) + 50).padStart(m[2]!.length, '0')}`;
    expect((await req('GET', `/api/v1/datasets/${missing}`, admin)).statusCode).toBe(404);

    const other = (await req('POST', '/api/v1/datasets', admin, { title: 'Other study' })).json().dataset.accession as string;
    const otherLink = (await req('POST', `/api/v1/datasets/${other}/reviewer-links`, admin, {})).json().link.token as string;
    const revoked = (await req('POST', `/api/v1/datasets/${accession}/reviewer-links`, admin, {})).json().link;
    expect((await req('DELETE', `/api/v1/datasets/${accession}/reviewer-links/${revoked.id as string}`, admin)).statusCode).toBe(204);

    const tokens = { bogus: 'cairn_rev_' + 'x'.repeat(43), revoked: revoked.token as string, otherDataset: otherLink };
    for (const [kind, token] of Object.entries(tokens)) {
      for (const path of ['', '/history', '/versions/1.0.0/tree', '/versions/1.0.0/file?path=README', '/versions/draft/archive', '/diff?from=1.0.0&to=draft']) {
        for (const how of ['query', 'header'] as const) {
          const ask = (key: string) => {
            const sep = path.includes('?') ? '&' : '?';
            return how === 'query'
              ? req('GET', `/api/v1/datasets/${key}${path}${sep}review=${encodeURIComponent(token)}`)
              : req('GET', `/api/v1/datasets/${key}${path}`, undefined, undefined, { 'x-cairn-review': token });
          };
          const existing = seen(await ask(accession));
          expect(existing.status, `${kind} ${path} ${how}`).toBe(401);
          expect(seen(await ask(missing)), `${kind} ${path} ${how}`).toEqual(existing);
          // By id too: an unknown id answers like a known one.
          expect(seen(await ask(id.replace(/.$/, id.endsWith('0') ? '1' : '0'))), `${kind} ${path} ${how} by id`).toEqual(existing);
        }
      }
    }
  });

  it('without a reviewer token, missing and private both stay 404 (unchanged)', async () => {
    const accession = (await req('POST', '/api/v1/datasets', admin, { title: 'Quiet study' })).json().dataset.accession as string;
    const a = seen(await req('GET', `/api/v1/datasets/${accession}`));
    const b = seen(await req('GET', '/api/v1/datasets/ds999999'));
    expect(a.status).toBe(404);
    expect(b).toEqual(a);
  });
});
