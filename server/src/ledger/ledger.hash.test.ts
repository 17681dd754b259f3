import { describe, expect, it } from 'vitest';
import { canonicalJsonChecked, chainedHashHex, entryHash, entryHashParts, entryHashRest, jsonHash } from './ledger.hash.js';

// Appends stage an entry's hash text before taking its stream's lock and finish it under the lock;
// verify recomputes with entryHash. Both must hash exactly the same text.
describe('entry hash in parts', () => {
  const cases = [
    { stream: 'device-1', streamSeq: 1, prevHash: null, typeVersion: null, actorId: 'u1', transactionId: null },
    { stream: 'device-1', streamSeq: 2, prevHash: Buffer.alloc(32, 7), typeVersion: 3, actorId: null, transactionId: 'tx-"1"\\' },
    { stream: null, streamSeq: null, prevHash: null, typeVersion: 1, actorId: 'app:é\u2028', transactionId: null },
    { stream: 'a"b\\c/ü', streamSeq: 123_456, prevHash: Buffer.alloc(32, 255), typeVersion: null, actorId: 'x', transactionId: 'y' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`matches entryHash (case ${i})`, () => {
      const dataHash = jsonHash('{"a":1}');
      const fields = {
        id: '01890000-0000-7000-8000-000000000000',
        stream: c.stream,
        type: 'note.created',
        typeVersion: c.typeVersion,
        actorKind: 'user',
        actorId: c.actorId,
        occurredAt: new Date('2026-01-02T03:04:05.678Z'),
        recordedAt: new Date('2026-01-02T03:04:06.001Z'),
        transactionId: c.transactionId,
      };
      const parts = entryHashParts(fields.id, fields.stream, entryHashRest(fields), dataHash.toString('hex'));
      const whole = entryHash({ ...fields, dataHash, streamSeq: c.streamSeq, prevHash: c.prevHash });
      expect(chainedHashHex(c.prevHash ? c.prevHash.toString('hex') : '', c.streamSeq, parts)).toBe(whole.toString('hex'));
    });
  }
});

describe('checked canonical JSON', () => {
  const pointerOf = (value: unknown, base = '') => {
    try {
      canonicalJsonChecked(value, base);
    } catch (e) {
      return (e as { pointer: string; message: string }).pointer + ' ' + (e as Error).message;
    }
    return undefined;
  };
  it('sorts keys and leaves out undefined', () => {
    expect(canonicalJsonChecked({ b: [1, 'x', null, true], a: { d: undefined, c: 1.5 } })).toBe('{"a":{"c":1.5},"b":[1,"x",null,true]}');
  });
  it('names the bad value by its pointer', () => {
    expect(pointerOf({ a: [0, { 'x/y~': Infinity }] }, '/events/2/data')).toBe('/events/2/data/a/1/x~1y~0 is not a finite number');
    expect(pointerOf('\u0000')).toBe('/ contains a NUL character or invalid Unicode');
    expect(pointerOf({ a: { ['\ud800']: 1 } })).toBe('/a has a key with a NUL character or invalid Unicode');
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(pointerOf(deep)).toBe(`${'/0'.repeat(65)} nests deeper than 64 levels`);
    expect(pointerOf({ f: () => 1 })).toBe('/f is not a JSON value');
  });
});
