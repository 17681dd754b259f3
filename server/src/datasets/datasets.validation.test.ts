import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkJson, checkTsv, runBuiltinChecks } from './datasets.checks.js';
import { bidsValidatorAvailable, runBidsValidator, type BidsOptions } from './datasets.bids.js';
import type { FileEntry } from './datasets.tree.js';

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');
const EXAMPLES = path.join(DATA, 'bids-examples');
const FIXTURES = path.join(DATA, 'bids-validator-fixtures');

function walk(root: string): FileEntry[] {
  const out: FileEntry[] = [];
  const rec = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) rec(p);
      else out.push({ path: path.relative(root, p).split(path.sep).join('/'), sha256: createHash('sha256').update(fs.readFileSync(p)).digest('hex'), size: fs.statSync(p).size });
    }
  };
  rec(root);
  return out;
}
const check = (root: string, profile = 'generic') => runBuiltinChecks(walk(root), profile, async (e) => fs.readFileSync(path.join(root, e.path)));

describe('built-in checks', () => {
  it('JSON: well-formed passes, broken names the problem', () => {
    expect(checkJson('a.json', Buffer.from('{"a": [1, 2]}'))).toEqual([]);
    expect(checkJson('a.json', Buffer.from('{"a": '))[0]).toMatchObject({ code: 'json_invalid', severity: 'error', file: 'a.json' });
    expect(checkJson('a.json', Buffer.from([0xff, 0xfe, 0x00]))[0]!.code).toBe('encoding_invalid');
    expect(checkJson('dataset_description.json', Buffer.from('{"Name": "x"}'), true)[0]!.code).toBe('bids_description_invalid');
  });

  it('TSV: rows match the header; empty, ragged and duplicated headers are errors', () => {
    expect(checkTsv('p.tsv', Buffer.from('id\tage\nsub-01\t30\n'))).toEqual([]);
    expect(checkTsv('p.tsv', Buffer.from('id\tage\r\nsub-01\t30\r\n'))).toEqual([]);
    expect(checkTsv('p.tsv', Buffer.from(''))[0]!.code).toBe('tsv_empty');
    expect(checkTsv('p.tsv', Buffer.from('id\tage\nsub-01\n'))[0]).toMatchObject({ code: 'tsv_column_count', message: expect.stringContaining('Line 2') });
    expect(checkTsv('p.tsv', Buffer.from('id\tid\n1\t2\n'))[0]!.code).toBe('tsv_header_invalid');
    expect(checkTsv('p.tsv', Buffer.from('id\t\n1\t2\n'))[0]!.code).toBe('tsv_header_invalid');
    expect(checkTsv('p.tsv', Buffer.from('id\n1\n\n2\n'))[0]!.code).toBe('tsv_row_invalid');
  });

  it('README is a warning for generic datasets and an error for BIDS-like ones', async () => {
    const generic = await runBuiltinChecks([{ path: 'a.txt', sha256: '0'.repeat(64), size: 1 }], 'generic', async () => Buffer.from('x'));
    expect(generic).toEqual([expect.objectContaining({ code: 'readme_missing', severity: 'warning' })]);
    const bids = await runBuiltinChecks([{ path: 'sub-01/anat/x.nii', sha256: '0'.repeat(64), size: 0 }], 'generic', async () => Buffer.alloc(0));
    expect(bids.map((i) => `${i.code}:${i.severity}`).sort()).toEqual(['bids_description_missing:error', 'readme_missing:error']);
  });

  for (const name of ['ds005', 'eeg_cbm', 'eeg_matchingpennies', 'synthetic']) {
    it(`the valid BIDS example ${name} has no errors`, async () => {
      const issues = await check(path.join(EXAMPLES, name), 'bids');
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    });
  }

  it('the invalid fixture empty_files lacks dataset_description.json', async () => {
    const issues = await check(path.join(FIXTURES, 'empty_files'));
    expect(issues).toContainEqual(expect.objectContaining({ code: 'bids_description_missing', severity: 'error' }));
  });
});

// The BIDS plugin is optional (docs/datasets.md): these run only where bids-validator 1.x is
// installed, beside the server or where CAIRN_BIDS_VALIDATOR_PATH points (e.g. a scratch
// `npm install bids-validator@1` folder: CAIRN_BIDS_VALIDATOR_PATH=/tmp/bids-plugin/node_modules/bids-validator).
const MODULE = process.env.CAIRN_BIDS_VALIDATOR_PATH ? path.resolve(process.env.CAIRN_BIDS_VALIDATOR_PATH) : undefined;
const bids = await bidsValidatorAvailable(MODULE);
const SKIP = 'bids-validator 1.x is not installed (optional ~700 MB plugin; `npm install bids-validator@1` beside the server, or anywhere with CAIRN_BIDS_VALIDATOR_PATH pointing at it, enables these tests)';
const runBids = (dir: string, options: BidsOptions = {}) => runBidsValidator(dir, { ...options, modulePath: MODULE });
describe.skipIf(!bids)(bids ? 'BIDS plugin (bids-validator 1.x)' : `BIDS plugin skipped: ${SKIP}`, () => {
  for (const name of ['ds005', 'eeg_cbm', 'eeg_matchingpennies']) {
    it(`${name} is valid with empty-file and NIfTI-header checks off`, async () => {
      const issues = await runBids(path.join(EXAMPLES, name), { ignoreEmptyFiles: true, ignoreNiftiHeaders: true });
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    }, 120_000);
  }
  it('synthetic is valid with every check on', async () => {
    const issues = await runBids(path.join(EXAMPLES, 'synthetic'));
    expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
  }, 120_000);
  it('pet_blood_missing_tsv_column: the missing plasma_radioactivity column (code 211)', async () => {
    const issues = await runBids(path.join(FIXTURES, 'pet_blood_missing_tsv_column'), { ignoreNiftiHeaders: true });
    expect(issues).toContainEqual(expect.objectContaining({ code: 'bids.TSV_MISSING_REQUIRED_COLUMN', severity: 'error' }));
  }, 120_000);
  it('empty_files: one EMPTY_FILE issue, on the .ds folder\'s file', async () => {
    const issues = await runBids(path.join(FIXTURES, 'empty_files'));
    const empty = issues.filter((i) => i.code === 'bids.EMPTY_FILE');
    expect(empty).toHaveLength(1);
    expect(empty[0]!.file).toContain('sub-0001_task-AEF_run-01_meg.ds');
  }, 120_000);
});
