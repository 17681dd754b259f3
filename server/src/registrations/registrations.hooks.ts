import { Webhook } from 'standardwebhooks';
import { newId } from '../kernel/ids.js';
import { newWebhookSecret, postSigned } from '../kernel/signed-post.js';

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
  const answer = await postSigned(url, secret, `msg_${newId()}`, JSON.stringify(payload), { timeoutMs, maxAnswer: MAX_ANSWER });
  if (answer.kind === 'unreachable') return { kind: 'failed', message: answer.message };
  // An answer past the limit is judged by its status alone.
  const text = answer.truncated ? '' : answer.text;
  let parsed: Record<string, unknown> = {};
  try {
    const v: unknown = text ? JSON.parse(text) : {};
    if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
  } catch {
    /* a non-JSON answer is judged by its status alone */
  }
  const status = answer.status;
  if (status === 202) return { kind: 'pending' };
  if (status >= 200 && status < 300) return { kind: 'accepted', status, body: parsed };
  if (status >= 400 && status < 500) {
    const reason = typeof parsed.reason === 'string' ? parsed.reason : typeof parsed.message === 'string' ? parsed.message : `HTTP ${status}`;
    return { kind: 'rejected', status, reason: reason.slice(0, 1000) };
  }
  return { kind: 'failed', message: `answered HTTP ${status}` };
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

export const newHookSecret = newWebhookSecret;
