/** One dispatched Server-Sent Event. */
export interface SseMessage {
  /** The `event:` field, 'message' when absent. */
  event: string;
  data: string;
  /** The last `id:` seen in the stream so far (the spec's "last event ID buffer"). */
  id: string | undefined;
  /** A `retry:` the server asked for, in ms. */
  retry: number | undefined;
}

/**
 * Incremental text/event-stream parser following the WHATWG rules: lines end in CRLF, LF or
 * CR; `:` starts a comment (heartbeats); a blank line dispatches; multi-line data joins with
 * LF; an id containing NUL is ignored. Fed decoded text chunks that may split anywhere,
 * including between a CR and its LF.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private hasData = false;
  private eventType = '';
  private lastId: string | undefined;
  private retry: number | undefined;
  private pendingCr = false;

  constructor(initialId?: string) {
    this.lastId = initialId;
  }

  get lastEventId(): string | undefined {
    return this.lastId;
  }

  push(chunk: string): SseMessage[] {
    const out: SseMessage[] = [];
    let text = chunk;
    // A CR ended the previous chunk: its LF partner may start this one.
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const msg: SseMessage | undefined = this.hasData
      ? { event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastId, retry: this.retry }
      : undefined;
    this.data = [];
    this.hasData = false;
    this.eventType = '';
    return msg;
  }
}

/** Reads a fetch body as SSE messages. Ends when the body ends (without dispatching a half message). */
export async function* readSse(body: ReadableStream<Uint8Array>, parser: SseParser, signal?: AbortSignal): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const m of parser.push(decoder.decode(value, { stream: true }))) yield m;
    }
    for (const m of parser.push(decoder.decode())) yield m;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // The consumer may stop early: cancel so the connection closes instead of idling.
    await reader.cancel().catch(() => {});
  }
}
