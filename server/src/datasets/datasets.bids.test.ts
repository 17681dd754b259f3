import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';
import { runBidsValidator } from './datasets.bids.js';

/**
 * Issue 17: with the BIDS plugin on, a validator that throws from its own callbacks killed the
 * server. It now runs in a child process with a time limit; its failure is an issue, never a crash.
 */
const FAKE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/fake-bids-validator.cjs');

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bids-t-'));
  for (const [p, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, p), c);
  return dir;
}

describe('the validator runs isolated', () => {
  it('an asynchronous TypeError inside the validator is a failed-validation issue', async () => {
    const issues = await runBidsValidator(folder({ CRASH: '' }), { modulePath: FAKE });
    expect(issues).toEqual([expect.objectContaining({ code: 'bids_validator_failed', severity: 'warning', file: null, message: expect.stringContaining('harmonizeRelativePath') })]);
  });

  it('a synchronous throw, an exit and a hang are issues too (the hang after the time limit)', async () => {
    expect((await runBidsValidator(folder({ THROW: '' }), { modulePath: FAKE }))[0]).toMatchObject({ code: 'bids_validator_failed', message: expect.stringContaining('validator threw synchronously') });
    expect((await runBidsValidator(folder({ EXIT: '' }), { modulePath: FAKE }))[0]).toMatchObject({ code: 'bids_validator_failed', message: expect.stringContaining('exit code 7') });
    expect((await runBidsValidator(folder({ HANG: '' }), { modulePath: FAKE, timeoutMs: 1500 }))[0]).toMatchObject({ code: 'bids_validator_failed', message: expect.stringContaining('did not finish within 2 s') });
  });

  it('a module that is not a validator, or a path that does not exist, is a failure, not a crash', async () => {
    expect((await runBidsValidator(folder({}), { modulePath: path.join(os.tmpdir(), 'no-such-validator-module.cjs') }))[0]).toMatchObject({ code: 'bids_validator_failed', message: expect.stringContaining('Cannot find module') });
    const notOne = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bids-m-')), 'm.cjs');
    fs.writeFileSync(notOne, 'exports.x = 1;\n');
    expect((await runBidsValidator(folder({}), { modulePath: notOne }))[0]).toMatchObject({ code: 'bids_validator_failed', message: expect.stringContaining('no BIDS(') });
  });

  it('maps the answer to issues with files', async () => {
    const issues = await runBidsValidator(folder({}), { modulePath: FAKE, ignoreEmptyFiles: true });
    expect(issues).toEqual([
      { code: 'bids.FAKE_ERROR', severity: 'error', file: 'sub-01/x.txt', message: 'this file' },
      { code: 'bids.FAKE_OPTIONS', severity: 'warning', file: null, message: 'ignoreEmptyFiles=true ignoreNiftiHeaders=false' },
    ]);
  });
});

describe('the plugin in the server', () => {
  let app: App;
  let services: Services;
  let stop: () => Promise<void>;
  let admin: string;

  beforeAll(async () => {
    ({ app, services, stop } = await createTestApp({ CAIRN_BIDS_VALIDATOR: 'true', CAIRN_BIDS_VALIDATOR_PATH: FAKE }));
    admin = (await setupAdmin(app)).authorization;
  });
  afterAll(() => stop());

  const req = (method: string, url: string, payload?: unknown) =>
    app.inject({ method: method as 'GET', url, headers: { authorization: admin }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  async function upload(ds: string, files: Record<string, string>) {
    const s = await req('POST', `/api/v1/datasets/${ds}/uploads`);
    const sid = s.json().session.id;
    const changes = [];
    for (const [p, content] of Object.entries(files)) {
      const r = await services.blobs.put(Readable.from([Buffer.from(content)]));
      await services.db.insertInto('dataset_uploads').values({ id: `test-${sid}-${r.sha256}`, session_id: sid, size: r.size, expected_sha256: r.sha256, sha256: r.sha256 } as never).onConflict((oc) => oc.doNothing()).execute();
      changes.push({ op: 'put', path: p, sha256: r.sha256, size: r.size });
    }
    expect((await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/commit`, { changes })).statusCode).toBe(200);
  }

  it('a crashing validator leaves the server running and says so on the version', async () => {
    const ds = (await req('POST', '/api/v1/datasets', { title: 'Crash', profile: 'bids' })).json().dataset.accession;
    await upload(ds, { 'dataset_description.json': '{"Name":"c","BIDSVersion":"1.8.0"}', CRASH: '' });
    await services.jobs.drain();
    const v = (await req('GET', `/api/v1/datasets/${ds}/versions/draft/validation`)).json();
    expect(v.issues).toContainEqual(expect.objectContaining({ code: 'bids_validator_failed', severity: 'warning', message: expect.stringContaining('harmonizeRelativePath') }));
    expect((await req('GET', `/api/v1/datasets/${ds}`)).statusCode).toBe(200);
  });

  it('the two options are dataset settings, passed to the validator', async () => {
    const created = (await req('POST', '/api/v1/datasets', { title: 'Opts', profile: 'bids', bidsOptions: { ignoreEmptyFiles: true } })).json().dataset;
    expect(created.bidsOptions).toEqual({ ignoreEmptyFiles: true, ignoreNiftiHeaders: false });
    const ds = created.accession;
    await upload(ds, { 'dataset_description.json': '{"Name":"o","BIDSVersion":"1.8.0"}' });
    await services.jobs.drain();
    const opts = async () => ((await req('GET', `/api/v1/datasets/${ds}/versions/draft/validation`)).json().issues as { code: string; message: string }[]).find((i) => i.code === 'bids.FAKE_OPTIONS')?.message;
    expect(await opts()).toBe('ignoreEmptyFiles=true ignoreNiftiHeaders=false');
    const patched = await req('PATCH', `/api/v1/datasets/${ds}`, { bidsOptions: { ignoreEmptyFiles: false, ignoreNiftiHeaders: true } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().dataset?.bidsOptions ?? patched.json().bidsOptions).toEqual({ ignoreEmptyFiles: false, ignoreNiftiHeaders: true });
    // Re-validated with the new options, no new commit needed.
    await services.jobs.drain();
    expect(await opts()).toBe('ignoreEmptyFiles=false ignoreNiftiHeaders=true');
    const bad = await req('PATCH', `/api/v1/datasets/${ds}`, { bidsOptions: { ignoreEverything: true } });
    expect(bad.statusCode).toBe(400);
  });
});
