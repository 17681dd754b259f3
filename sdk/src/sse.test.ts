import { describe, expect, it } from 'vitest';
import { SseParser, readSse } from './sse.js';

const feedAll = (p: SseParser, chunks: string[]) => chunks.flatMap((c) => p.push(c));

describe('SseParser', () => {
  it('parses entries with id and event, skipping heartbeat comments', () => {
    const p = new SseParser();
    const out = feedAll(p, [': ping\n\n', 'id: c1\nevent: entry\ndata: {"a":1}\n\n']);
    expect(out).toEqual([{ event: 'entry', data: '{"a":1}', id: 'c1', retry: undefined }]);
    expect(p.lastEventId).toBe('c1');
  });

  it('handles chunks split inside a field, inside a line ending and between CR and LF', () => {
    const text = 'id: abc\r\nevent: entry\r\ndata: {"x":"y"}\r\n\r\nid: def\rdata: two\r\r';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const out = feedAll(p, [text.slice(0, cut), text.slice(cut)]);
      expect(out.map((m) => [m.id, m.event, m.data])).toEqual([
        ['abc', 'entry', '{"x":"y"}'],
        ['def', 'message', 'two'],
      ]);
    }
  });

  it('joins multi-line data with LF, keeps a value without a space, and honours retry', () => {
    const p = new SseParser();
    const out = p.push('retry: 2500\ndata:first\ndata: second\ndata\n\n');
    expect(out).toEqual([{ event: 'message', data: 'first\nsecond\n', id: undefined, retry: 2500 }]);
  });

  it('does not dispatch an event without data, and resets the event type after dispatch', () => {
    const p = new SseParser('start');
    expect(p.push('event: entry\n\n')).toEqual([]);
    expect(p.push('data: x\n\n')).toEqual([{ event: 'message', data: 'x', id: 'start', retry: undefined }]);
  });

  it('ignores ids containing NUL and malformed retry values', () => {
    const p = new SseParser('keep');
    const out = p.push('id: bad\u0000id\nretry: 12abc\ndata: d\n\n');
    expect(out[0]?.id).toBe('keep');
    expect(out[0]?.retry).toBeUndefined();
  });

  it('keeps an empty id (which resets the last id) and does not dispatch a trailing half event', () => {
    const p = new SseParser('old');
    const out = p.push('id\ndata: a\n\ndata: half');
    expect(out).toEqual([{ event: 'message', data: 'a', id: '', retry: undefined }]);
  });
});

describe('readSse', () => {
  it('decodes UTF-8 split across byte chunks', async () => {
    const bytes = new TextEncoder().encode('id: 1\nevent: entry\ndata: {"name":"Zoë – 東京"}\n\n');
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
    const got = [];
    for await (const m of readSse(body, new SseParser())) got.push(m);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.data)).toEqual({ name: 'Zoë – 東京' });
  });

  it('cancels the body when the consumer stops early', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new TextEncoder().encode('data: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const m of readSse(body, new SseParser())) {
      expect(m.data).toBe('x');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
