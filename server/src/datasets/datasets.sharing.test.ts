import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';

/**
 * Issue 17, "sharing datasets with outsiders": the public list is searchable without an account by
 * title, description, modality and author; answers carry exactly the documented fields (response
 * schemas, no more `Type.Any()`), and a reviewer link reads a private dataset's snapshot.
 */
let app: App;
let stop: () => Promise<void>;
let admin: string;

const req = (method: string, url: string, authorization?: string, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });

const DATASET_KEYS = ['accession', 'authors', 'bidsOptions', 'createdAt', 'description', 'id', 'license', 'modalities', 'ownerId', 'profile', 'public', 'quotaBytes', 'role', 'title', 'updatedAt'];

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  const make = async (body: object) => {
    const r = await req('POST', '/api/v1/datasets', admin, body);
    expect(r.statusCode, r.body).toBe(201);
    return r.json().dataset.accession as string;
  };
  await make({ title: 'Flanker task EEG', description: 'Attention in adolescents', authors: ['Grace Hopper', 'Alan Turing'], modalities: ['eeg'], public: true, license: 'CC0' });
  await make({ title: 'Resting state', description: 'Ten minutes eyes closed', authors: ['Marie Curie'], modalities: ['mri'], public: true });
  await make({ title: 'Secret cohort', description: 'Attention too', authors: ['Grace Hopper'], modalities: ['eeg'] });
});
afterAll(() => stop());

describe('public datasets without an account', () => {
  it('lists only public datasets and finds them by author, modality, title and description words', async () => {
    const all = await req('GET', '/api/v1/datasets');
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().datasets.map((d: { title: string }) => d.title).sort()).toEqual(['Flanker task EEG', 'Resting state']);
    expect(Object.keys(all.json().datasets[0]).sort()).toEqual(DATASET_KEYS);
    expect(all.json().datasets[0].role).toBe('read');

    const titles = async (qs: string) => (await req('GET', `/api/v1/datasets?${qs}`)).json().datasets.map((d: { title: string }) => d.title);
    expect(await titles('author=hopper')).toEqual(['Flanker task EEG']);
    expect(await titles('q=turing')).toEqual(['Flanker task EEG']);
    expect(await titles('q=mri')).toEqual(['Resting state']);
    expect(await titles('q=eyes')).toEqual(['Resting state']);
    expect(await titles('q=attention')).toEqual(['Flanker task EEG']);
    // LIKE wildcards in the author are literal characters.
    expect(await titles('author=%25')).toEqual([]);
    // The signed-in owner also sees the private one.
    const mine = (await req('GET', '/api/v1/datasets?author=hopper', admin)).json();
    expect(mine.datasets.map((d: { title: string }) => d.title).sort()).toEqual(['Flanker task EEG', 'Secret cohort']);
  });

  it('answers a bad author filter with 400 and a pointer, never a 500', async () => {
    const r = await req('GET', `/api/v1/datasets?author=${'x'.repeat(301)}`);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('validation_failed');
  });
});

describe('reviewer links read a private dataset', () => {
  it('the snapshot, its tree, a file and its validation, and nothing else of the dataset', async () => {
    const created = (await req('POST', '/api/v1/datasets', admin, { title: 'Under review', readme: '# Under review\n' })).json().dataset;
    const ds = created.accession as string;
    expect(Object.keys(created).sort()).toEqual([...DATASET_KEYS, 'draft', 'latestSnapshot', 'snapshots'].sort());
    expect(Object.keys(created.draft).sort()).toEqual(['changelog', 'createdAt', 'deprecated', 'fileCount', 'id', 'kind', 'revision', 'rootHash', 'size', 'tag', 'updatedAt', 'validation']);
    const snap = await req('POST', `/api/v1/datasets/${ds}/snapshots`, admin, { bump: 'major', changelog: 'for the journal' });
    expect(snap.statusCode, snap.body).toBe(201);
    const token = (await req('POST', `/api/v1/datasets/${ds}/reviewer-links`, admin, { expiresInDays: 7 })).json().link.token as string;

    expect((await req('GET', `/api/v1/datasets/${ds}`)).statusCode).toBe(404);
    const seen = await req('GET', `/api/v1/datasets/${ds}?review=${token}`);
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.json().dataset.role).toBe('read');
    expect(seen.json().dataset.draft).toBeNull();
    expect(seen.json().dataset.snapshots.map((s: { tag: string }) => s.tag)).toEqual(['1.0.0']);
    const tree = await req('GET', `/api/v1/datasets/${ds}/versions/1.0.0/tree?review=${token}`);
    expect(tree.json().children.map((c: { name: string }) => c.name)).toEqual(['README.md']);
    expect(Object.keys(tree.json().children[0]).sort()).toEqual(['fileCount', 'hash', 'kind', 'name', 'path', 'size']);
    const file = await req('GET', `/api/v1/datasets/${ds}/versions/1.0.0/file?path=README.md&review=${token}`);
    expect(file.body).toBe('# Under review\n');
    const validation = await req('GET', `/api/v1/datasets/${ds}/versions/1.0.0/validation?review=${token}`);
    expect(validation.statusCode, validation.body).toBe(200);
    expect(validation.json().version.tag).toBe('1.0.0');
    // The draft stays with the editors, and a reviewer changes nothing.
    expect((await req('GET', `/api/v1/datasets/${ds}/versions/draft/tree?review=${token}`)).statusCode).toBe(404);
    expect((await req('PATCH', `/api/v1/datasets/${ds}?review=${token}`, undefined, { title: 'x' })).statusCode).toBe(401);
  });
});
