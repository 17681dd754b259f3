import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { addUser, useAdminApp } from '../../test/accounts.js';

const t = useAdminApp();
let alice: { id: string; authorization: string };
let bob: { id: string; authorization: string };

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

const req = (method: string, url: string, authorization?: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: method as 'GET', url, headers: { ...(authorization ? { authorization } : {}), ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

/** Puts content straight into the blob store and commits it through an upload session, as the CLI does after tus. */
async function upload(ds: string, files: Record<string, string>, authorization = alice.authorization, opts: { baseRevision?: number } = {}) {
  const s = await req('POST', `/api/v1/datasets/${ds}/uploads`, authorization);
  expect(s.statusCode).toBe(201);
  const sid = s.json().session.id;
  const changes = [];
  for (const [path, content] of Object.entries(files)) {
    const r = await t.services.blobs.put(Readable.from([Buffer.from(content)]));
    await t.services.db.insertInto('dataset_uploads').values({ id: `test-${sid}-${r.sha256}`, session_id: sid, size: r.size, expected_sha256: r.sha256, sha256: r.sha256 } as never).onConflict((oc) => oc.doNothing()).execute();
    changes.push({ op: 'put', path, sha256: r.sha256, size: r.size });
  }
  return req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/commit`, authorization, { changes, ...opts });
}

beforeAll(async () => {
  alice = await addUser(t.app, t.admin, 'alice');
  bob = await addUser(t.app, t.admin, 'bob');
});

describe('datasets', () => {
  let ds: string;
  it('creates a dataset with an accession id and README', async () => {
    const r = await req('POST', '/api/v1/datasets', alice.authorization, { title: 'Sleep study', description: 'EEG during sleep', license: 'CC0', modalities: ['EEG'], readme: '# Sleep\n' });
    expect(r.statusCode).toBe(201);
    const d = r.json().dataset;
    expect(d.accession).toMatch(/^ds\d{6}$/);
    expect(d.public).toBe(false);
    expect(d.role).toBe('admin');
    expect(d.draft.fileCount).toBe(1);
    ds = d.accession;
    const tree = await req('GET', `/api/v1/datasets/${ds}/versions/draft/tree`, alice.authorization);
    expect(tree.json().children.map((c: { name: string }) => c.name)).toEqual(['README.md']);
  });

  it('is private: other users and anonymous callers see not_found', async () => {
    expect((await req('GET', `/api/v1/datasets/${ds}`, bob.authorization)).statusCode).toBe(404);
    expect((await req('GET', `/api/v1/datasets/${ds}`)).statusCode).toBe(404);
    expect((await req('GET', `/api/v1/datasets/${ds}/versions/draft/file?path=README.md`, bob.authorization)).statusCode).toBe(404);
    const list = await req('GET', '/api/v1/datasets', bob.authorization);
    expect(list.json().datasets.map((d: { accession: string }) => d.accession)).not.toContain(ds);
  });

  it('commits uploaded files atomically and records a ledger entry', async () => {
    const r = await upload(ds, { 'data/a.json': '{"x":1}\n', 'data/b.tsv': 'a\tb\n1\t2\n', 'notes.txt': 'hello\n' });
    expect(r.statusCode).toBe(200);
    expect(r.json().draft.fileCount).toBe(4);
    expect(r.json().summary.added).toBe(3);
    const h = await req('GET', `/api/v1/datasets/${ds}/history`, alice.authorization);
    expect(h.json().events.map((e: { type: string }) => e.type)).toEqual(['dataset.created', 'dataset.committed', 'dataset.committed']);
    expect(h.json().events[2].stream).toMatch(/^dataset:/);
  });

  it('refuses a commit that references content never uploaded, and one claiming a wrong size', async () => {
    const s = (await req('POST', `/api/v1/datasets/${ds}/uploads`, alice.authorization)).json().session.id;
    const r = await req('POST', `/api/v1/datasets/${ds}/uploads/${s}/commit`, alice.authorization, { changes: [{ op: 'put', path: 'x.bin', sha256: sha('never sent'), size: 10 }] });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('upload_missing');
    const known = sha('hello\n');
    const wrong = await req('POST', `/api/v1/datasets/${ds}/uploads/${s}/commit`, alice.authorization, { changes: [{ op: 'put', path: 'copy.txt', sha256: known, size: 999 }] });
    expect(wrong.json().error.code).toBe('blob_size_mismatch');
  });

  it('answers which hashes it has, only for content the caller can read', async () => {
    const s = (await req('POST', `/api/v1/datasets/${ds}/uploads`, alice.authorization)).json().session.id;
    const r = await req('POST', `/api/v1/datasets/${ds}/uploads/${s}/check`, alice.authorization, { sha256: [sha('hello\n'), sha('unknown')] });
    expect(r.json().have).toEqual([sha('hello\n')]);
    // Bob has his own dataset; alice's private content is not "had" for him, though it is stored.
    const other = (await req('POST', '/api/v1/datasets', bob.authorization, { title: 'Bob data' })).json().dataset.accession;
    const bs = (await req('POST', `/api/v1/datasets/${other}/uploads`, bob.authorization)).json().session.id;
    const br = await req('POST', `/api/v1/datasets/${other}/uploads/${bs}/check`, bob.authorization, { sha256: [sha('hello\n')] });
    expect(br.json().have).toEqual([]);
    const steal = await req('POST', `/api/v1/datasets/${other}/uploads/${bs}/commit`, bob.authorization, { changes: [{ op: 'put', path: 'stolen.txt', sha256: sha('hello\n'), size: 6 }] });
    expect(steal.json().error.code).toBe('upload_missing');
  });

  it('moves, renames and deletes in the draft; path rules give clear errors', async () => {
    const rename = await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { changes: [{ op: 'rename', path: 'notes.txt', name: 'NOTES.txt' }, { op: 'move', from: 'data', to: 'raw/data' }] });
    expect(rename.statusCode, rename.body).toBe(200);
    const files = (await req('GET', `/api/v1/datasets/${ds}/versions/draft/files`, alice.authorization)).json().files.map((f: { path: string }) => f.path);
    expect(files).toEqual(['NOTES.txt', 'README.md', 'raw/data/a.json', 'raw/data/b.tsv']);
    for (const [path, code] of [['../x', 'path_traversal'], ['/etc/passwd', 'path_traversal'], ['a\u0000b', 'path_invalid'], ['x'.repeat(300), 'path_too_long'], ['readme.md', 'path_case_collision'], ['NOTES.txt/inner', 'path_conflict']]) {
      const r = await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { changes: [{ op: 'put', path, sha256: sha('hello\n'), size: 6 }] });
      expect(r.json().error.code, path).toBe(code);
      expect(r.statusCode).toBeLessThan(500);
    }
    const missing = await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { changes: [{ op: 'delete', path: 'nope.txt' }] });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('path_not_found');
    // All or nothing: the valid first change is not applied when the second fails.
    const before = (await req('GET', `/api/v1/datasets/${ds}`, alice.authorization)).json().dataset.draft;
    const partial = await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { changes: [{ op: 'delete', path: 'NOTES.txt' }, { op: 'delete', path: 'nope.txt' }] });
    expect(partial.statusCode).toBe(404);
    const after = (await req('GET', `/api/v1/datasets/${ds}`, alice.authorization)).json().dataset.draft;
    expect(after.rootHash).toBe(before.rootHash);
    expect(after.revision).toBe(before.revision);
  });

  it('refuses a commit based on a stale revision with draft_conflict', async () => {
    const rev = (await req('GET', `/api/v1/datasets/${ds}`, alice.authorization)).json().dataset.draft.revision;
    const r = await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { baseRevision: rev - 1, changes: [{ op: 'delete', path: 'NOTES.txt' }] });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('draft_conflict');
  });

  it('serialises concurrent commits: none is lost', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(ds, { [`conc/f${i}.txt`]: `file ${i}\n` })));
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    const files = (await req('GET', `/api/v1/datasets/${ds}/versions/draft/files?path=conc`, alice.authorization)).json().files;
    expect(files).toHaveLength(6);
    const revs = results.map((r) => r.json().draft.revision).sort((a: number, b: number) => a - b);
    expect(new Set(revs).size).toBe(6);
  });

  it('previews JSON and TSV, downloads with Range', async () => {
    const p = await req('GET', `/api/v1/datasets/${ds}/versions/draft/preview?path=raw/data/b.tsv`, alice.authorization);
    expect(p.json()).toMatchObject({ kind: 'tsv', rows: [['a', 'b'], ['1', '2']] });
    const j = await req('GET', `/api/v1/datasets/${ds}/versions/draft/preview?path=raw/data/a.json`, alice.authorization);
    expect(j.json()).toMatchObject({ kind: 'json', json: { x: 1 } });
    const whole = await req('GET', `/api/v1/datasets/${ds}/versions/draft/file?path=NOTES.txt`, alice.authorization);
    expect(whole.body).toBe('hello\n');
    expect(whole.headers['content-type']).toBe('application/octet-stream');
    const part = await req('GET', `/api/v1/datasets/${ds}/versions/draft/file?path=NOTES.txt`, alice.authorization, undefined, { range: 'bytes=1-3' });
    expect(part.statusCode).toBe(206);
    expect(part.body).toBe('ell');
    expect(part.headers['content-range']).toBe('bytes 1-3/6');
    const suffix = await req('GET', `/api/v1/datasets/${ds}/versions/draft/file?path=NOTES.txt`, alice.authorization, undefined, { range: 'bytes=-2' });
    expect(suffix.body).toBe('o\n');
    const bad = await req('GET', `/api/v1/datasets/${ds}/versions/draft/file?path=NOTES.txt`, alice.authorization, undefined, { range: 'bytes=10-20' });
    expect(bad.statusCode).toBe(416);
    expect(bad.json().error.code).toBe('blob_range_invalid');
    expect(bad.headers['content-range']).toBe('bytes */6');
  });

  it('validates in the background and refuses a snapshot while the draft has errors', async () => {
    await upload(ds, { 'broken.json': '{"x":' });
    await t.services.jobs.drain();
    const v = await req('GET', `/api/v1/datasets/${ds}/versions/draft/validation`, alice.authorization);
    expect(v.json().status).toBe('failed');
    expect(v.json().issues).toContainEqual(expect.objectContaining({ code: 'json_invalid', severity: 'error', file: 'broken.json' }));
    const s = await req('POST', `/api/v1/datasets/${ds}/snapshots`, alice.authorization, { bump: 'major', changelog: 'first' });
    expect(s.statusCode).toBe(409);
    expect(s.json().error.code).toBe('draft_invalid');
    await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { changes: [{ op: 'delete', path: 'broken.json' }] });
  });

  it('snapshots with bump or explicit semver, needs a changelog, never changes', async () => {
    expect((await req('POST', `/api/v1/datasets/${ds}/snapshots`, alice.authorization, { bump: 'major', changelog: '  ' })).json().error.code).toBe('validation_failed');
    const s1 = await req('POST', `/api/v1/datasets/${ds}/snapshots`, alice.authorization, { bump: 'major', changelog: 'First release' });
    expect(s1.statusCode).toBe(201);
    expect(s1.json().snapshot.tag).toBe('1.0.0');
    await upload(ds, { 'NOTES.txt': 'hello\nworld\n', 'extra/new.txt': 'new\n' });
    await req('POST', `/api/v1/datasets/${ds}/draft/changes`, alice.authorization, { changes: [{ op: 'move', from: 'raw/data/a.json', to: 'raw/a.json' }] });
    const s2 = await req('POST', `/api/v1/datasets/${ds}/snapshots`, alice.authorization, { bump: 'minor', changelog: 'More notes' });
    expect(s2.json().snapshot.tag).toBe('1.1.0');
    expect((await req('POST', `/api/v1/datasets/${ds}/snapshots`, alice.authorization, { version: '1.1.0', changelog: 'again' })).json().error.code).toBe('version_exists');
    expect((await req('POST', `/api/v1/datasets/${ds}/snapshots`, alice.authorization, { version: 'banana', changelog: 'x' })).json().error.code).toBe('validation_failed');
    // The database refuses changes to a snapshot's files even from inside.
    await expect(t.services.db.deleteFrom('dataset_files').where('version_id', '=', s1.json().snapshot.id).execute()).rejects.toThrow(/immutable/);
    const tree1 = (await req('GET', `/api/v1/datasets/${ds}/versions/1.0.0/files`, alice.authorization)).json();
    expect(tree1.version.rootHash).toBe(s1.json().snapshot.rootHash);
  });

  it('diffs two versions with renames, modifications and line diffs', async () => {
    const d = (await req('GET', `/api/v1/datasets/${ds}/diff?from=1.0.0&to=1.1.0`, alice.authorization)).json();
    expect(d.added.map((f: { path: string }) => f.path)).toEqual(['extra/new.txt']);
    expect(d.modified.map((f: { path: string }) => f.path)).toEqual(['NOTES.txt']);
    expect(d.renamed).toEqual([expect.objectContaining({ from: 'raw/data/a.json', to: 'raw/a.json' })]);
    const lines = (await req('GET', `/api/v1/datasets/${ds}/diff/lines?from=1.0.0&to=1.1.0&path=NOTES.txt`, alice.authorization)).json();
    expect(lines.diff.kind).toBe('text');
    expect(JSON.stringify(lines.diff)).toContain('world');
    const draft = await req('GET', `/api/v1/datasets/${ds}/diff?from=1.1.0&to=draft`, alice.authorization);
    expect(draft.json().summary.added + draft.json().summary.removed + draft.json().summary.modified).toBe(0);
  });

  it('deprecates a snapshot with a reason', async () => {
    const r = await req('POST', `/api/v1/datasets/${ds}/snapshots/1.0.0/deprecate`, alice.authorization, { reason: 'wrong units' });
    expect(r.json().snapshot.deprecated.reason).toBe('wrong units');
    expect((await req('POST', `/api/v1/datasets/${ds}/snapshots/draft/deprecate`, alice.authorization, { reason: 'x' })).json().error.code).toBe('validation_failed');
  });

  it('streams the version as zip and tar.gz', async () => {
    const z = await req('GET', `/api/v1/datasets/${ds}/versions/1.1.0/archive?format=zip`, alice.authorization);
    expect(z.statusCode).toBe(200);
    expect(z.rawPayload.subarray(0, 2).toString()).toBe('PK');
    expect(z.rawPayload.includes(Buffer.from(`${ds}-1.1.0/extra/new.txt`))).toBe(true);
    const t = await req('GET', `/api/v1/datasets/${ds}/versions/1.1.0/archive?format=tar.gz`, alice.authorization);
    const { gunzipSync } = await import('node:zlib');
    const tarBytes = gunzipSync(t.rawPayload);
    expect(tarBytes.includes(Buffer.from('hello\nworld\n'))).toBe(true);
  });

  it('permissions: read-only members cannot write, editors can, admins grant', async () => {
    expect((await req('PUT', `/api/v1/datasets/${ds}/members/${bob.id}`, alice.authorization, { role: 'read' })).statusCode).toBe(204);
    expect((await req('GET', `/api/v1/datasets/${ds}`, bob.authorization)).json().dataset.role).toBe('read');
    expect((await req('GET', `/api/v1/datasets/${ds}/versions/draft/files`, bob.authorization)).statusCode).toBe(404);
    const w = await req('POST', `/api/v1/datasets/${ds}/draft/changes`, bob.authorization, { changes: [{ op: 'delete', path: 'NOTES.txt' }] });
    expect(w.statusCode).toBe(403);
    expect((await req('PUT', `/api/v1/datasets/${ds}/members/${bob.id}`, bob.authorization, { role: 'admin' })).statusCode).toBe(403);
    await req('PUT', `/api/v1/datasets/${ds}/members/${bob.id}`, alice.authorization, { role: 'edit' });
    expect((await req('POST', `/api/v1/datasets/${ds}/draft/changes`, bob.authorization, { changes: [{ op: 'delete', path: 'extra' }] })).statusCode).toBe(200);
    expect((await req('PATCH', `/api/v1/datasets/${ds}`, bob.authorization, { public: true })).statusCode).toBe(403);
    await req('DELETE', `/api/v1/datasets/${ds}/members/${bob.id}`, alice.authorization);
    expect((await req('GET', `/api/v1/datasets/${ds}`, bob.authorization)).statusCode).toBe(404);
  });

  it('reviewer links give anonymous read-only access until revoked', async () => {
    const l = await req('POST', `/api/v1/datasets/${ds}/reviewer-links`, alice.authorization, { expiresInDays: 7, note: 'journal' });
    expect(l.statusCode).toBe(201);
    const { token, id } = l.json().link;
    const r = await req('GET', `/api/v1/datasets/${ds}/versions/1.1.0/file?path=NOTES.txt`, undefined, undefined, { 'x-cairn-review': token });
    expect(r.body).toBe('hello\nworld\n');
    expect((await req('GET', `/api/v1/datasets/${ds}?review=${token}`)).json().dataset.role).toBe('read');
    expect((await req('POST', `/api/v1/datasets/${ds}/draft/changes`, undefined, { changes: [{ op: 'delete', path: 'NOTES.txt' }] }, { 'x-cairn-review': token })).statusCode).toBe(401);
    const history = (await req('GET', `/api/v1/datasets/${ds}/history`, alice.authorization)).json().events;
    expect(JSON.stringify(history)).not.toContain(token);
    await req('DELETE', `/api/v1/datasets/${ds}/reviewer-links/${id}`, alice.authorization);
    expect((await req('GET', `/api/v1/datasets/${ds}`, undefined, undefined, { 'x-cairn-review': token })).statusCode).toBe(401);
    // A link is for one dataset only.
    const other = (await req('POST', '/api/v1/datasets', alice.authorization, { title: 'Other' })).json().dataset.accession;
    const l2 = (await req('POST', `/api/v1/datasets/${ds}/reviewer-links`, alice.authorization, {})).json().link.token;
    expect((await req('GET', `/api/v1/datasets/${other}`, undefined, undefined, { 'x-cairn-review': l2 })).statusCode).toBeGreaterThanOrEqual(401);
  });

  it('public datasets are readable without an account, and searchable with facets', async () => {
    await req('PATCH', `/api/v1/datasets/${ds}`, alice.authorization, { public: true });
    expect((await req('GET', `/api/v1/datasets/${ds}/versions/1.1.0/file?path=NOTES.txt`)).statusCode).toBe(200);
    expect((await req('GET', `/api/v1/datasets/${ds}/versions/draft/files`)).statusCode).toBe(404);
    const s = (await req('GET', '/api/v1/datasets?q=sleep&scope=public')).json();
    expect(s.datasets.map((d: { accession: string }) => d.accession)).toEqual([ds]);
    expect(s.facets.modality).toContainEqual({ value: 'eeg', count: 1 });
    expect((await req('GET', '/api/v1/datasets?modality=mri')).json().datasets).toEqual([]);
    const mine = (await req('GET', '/api/v1/datasets?scope=mine', bob.authorization)).json().datasets.map((d: { title: string }) => d.title);
    expect(mine).toEqual(['Bob data']);
    expect((await req('GET', '/api/v1/datasets?scope=mine')).statusCode).toBe(401);
  });

  it('enforces the dataset quota on commit', async () => {
    const small = (await req('POST', '/api/v1/datasets', alice.authorization, { title: 'Tiny' })).json().dataset.accession;
    await req('PATCH', `/api/v1/datasets/${small}`, t.admin, { quotaBytes: 10 });
    const r = await upload(small, { 'big.txt': 'x'.repeat(11) });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('quota_exceeded');
    expect((await req('PATCH', `/api/v1/datasets/${small}`, alice.authorization, { quotaBytes: 1e9 })).statusCode).toBe(403);
  });

  it('never answers 500 to malformed input', async () => {
    const bad = [
      ['POST', '/api/v1/datasets', { title: 5 }],
      ['POST', '/api/v1/datasets', { title: 'x', extra: 1 }],
      ['POST', `/api/v1/datasets/${ds}/draft/changes`, { changes: [{ op: 'explode', path: 'a' }] }],
      ['POST', `/api/v1/datasets/${ds}/draft/changes`, { changes: [{ op: 'put', path: 'a', sha256: 'nothex', size: 1 }] }],
      ['POST', `/api/v1/datasets/${ds}/draft/changes`, { changes: [{ op: 'rename', path: 'NOTES.txt', name: 'a/b' }] }],
      ['POST', `/api/v1/datasets/${ds}/draft/changes`, { changes: [] }],
      ['GET', `/api/v1/datasets/${ds}/versions/9.9.9/tree`],
      ['GET', `/api/v1/datasets/${ds}/versions/draft/tree?path=../..`],
      ['GET', `/api/v1/datasets/${ds}/versions/draft/preview?path=%00`],
      ['GET', `/api/v1/datasets/${ds}/diff?from=draft&to=nope`],
      ['GET', '/api/v1/datasets/%27%3B--/versions/draft/files'],
      ['POST', `/api/v1/datasets/${ds}/uploads/not-a-uuid/check`, { sha256: [] }],
      ['POST', `/api/v1/datasets/${ds}/snapshots`, { bump: 'huge', changelog: 'x' }],
      ['GET', '/api/v1/datasets?limit=-1'],
      ['GET', `/api/v1/datasets/${ds}/versions/1.1.0/file?path=NOTES.txt`, undefined, { range: 'bytes=abc' }],
    ] as const;
    for (const [method, url, payload, headers] of bad) {
      const r = await req(method, url, alice.authorization, payload, (headers ?? {}) as Record<string, string>);
      expect(r.statusCode, `${method} ${url}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, `${method} ${url}: ${r.body}`).toBeLessThan(500);
      expect(r.json().error.code).toMatch(/^[a-z_]+$/);
    }
  });
});
