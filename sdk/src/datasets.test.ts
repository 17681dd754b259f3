import { describe, expect, it } from 'vitest';
import { BATCH_MAX_FILE_BYTES, BATCH_MAX_FILES, planBatches } from './datasets.js';

describe('planBatches', () => {
  it('keeps the order and fills each batch up to the byte or file target', () => {
    const files = Array.from({ length: 10 }, (_, i) => ({ i, size: 300 }));
    const batches = planBatches(files, { bytes: 1000, files: 100 });
    expect(batches.map((b) => b.map((f) => f.i))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(planBatches(files, { bytes: 1e9, files: 4 }).map((b) => b.length)).toEqual([4, 4, 2]);
  });

  it('never exceeds the server limit on files, and puts a file larger than the byte target alone', () => {
    const many = Array.from({ length: BATCH_MAX_FILES + 5 }, () => ({ size: 0 }));
    expect(planBatches(many, { bytes: 1e9, files: 1e9 }).map((b) => b.length)).toEqual([BATCH_MAX_FILES, 5]);
    const mixed = [{ size: 10 }, { size: BATCH_MAX_FILE_BYTES }, { size: 10 }];
    expect(planBatches(mixed, { bytes: 100, files: 100 }).map((b) => b.length)).toEqual([1, 1, 1]);
    expect(planBatches([], undefined)).toEqual([]);
  });

  it('refuses a file too large for any batch (it belongs on tus)', () => {
    expect(() => planBatches([{ size: BATCH_MAX_FILE_BYTES + 1 }])).toThrow(RangeError);
  });
});
