import { Webhook } from 'standardwebhooks';
import { newId } from '../kernel/ids.js';

/**
 * Action hooks: Cairn POSTs `{ type, action, registration }` to the type's URL for the action,
 * signed with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). Called
 * before anything is written and outside any database transaction, so a slow external system
 * holds no lock and no connection; the timeout bounds it.
 */
export type HookOutcome =
  | { kind: 'accepted'; status: number; body: Record<string, unknown> }
  | { kind: 'pending' }
  | { kind: 'rejected'; status: number; reason: string }
  | { kind: 'failed'; message: string };

const MAX_ANSWER = 64 * 1024;

export async function callHook(url: string, secret: string, payload: unknown, timeoutMs: number): Promise<HookOutcome> {
  const body = JSON.stringify(payload);
  const id = `msg_${newId()}`;
  const now = new Date();
  const signature = new Webhook(secret).sign(id, now, body);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (e) {
    const name = (e as Error)?.name;
    return { kind: 'failed', message: name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs} ms` : 'could not reach it' };
  }
  const text = await readLimited(res);
  let parsed: Record<string, unknown> = {};
  try {
    const v: unknown = text ? JSON.parse(text) : {};
    if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
  } catch {
    /* a non-JSON answer is judged by its status alone */
  }
  if (res.status === 202) return { kind: 'pending' };
  if (res.status >= 200 && res.status < 300) return { kind: 'accepted', status: res.status, body: parsed };
  if (res.status >= 400 && res.status < 500) {
    const reason = typeof parsed.reason === 'string' ? parsed.reason : typeof parsed.message === 'string' ? parsed.message : `HTTP ${res.status}`;
    return { kind: 'rejected', status: res.status, reason: reason.slice(0, 1000) };
  }
  return { kind: 'failed', message: `answered HTTP ${res.status}` };
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER) {
      await reader.cancel();
      return '';
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Checks a callback from the external system, signed with the same secret. Answers the parsed body. */
export function verifyCallback(secret: string, rawBody: string, headers: Record<string, string | string[] | undefined>): unknown {
  const h: Record<string, string> = {};
  for (const k of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const v = headers[k];
    if (typeof v === 'string') h[k] = v;
  }
  return new Webhook(secret).verify(rawBody, h);
}

export function newHookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}
