import { Webhook } from 'standardwebhooks';

/**
 * One POST signed per the Standard Webhooks spec (webhook-id, webhook-timestamp,
 * webhook-signature), shared by the registration action hooks and outbound webhooks. Redirects
 * are refused (a signed body must not be forwarded somewhere the subscriber did not name) and
 * the answer is read up to `maxAnswer` bytes, so a hostile receiver cannot fill our memory.
 */
export type SignedPostResult =
  | { kind: 'answered'; status: number; text: string; truncated: boolean }
  | { kind: 'unreachable'; message: string };

export async function postSigned(url: string, secret: string, messageId: string, body: string, opts: { timeoutMs: number; maxAnswer: number; at?: Date }): Promise<SignedPostResult> {
  const now = opts.at ?? new Date();
  const signature = new Webhook(secret).sign(messageId, now, body);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': messageId, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'error',
    });
  } catch (e) {
    const name = (e as Error)?.name;
    return { kind: 'unreachable', message: name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${opts.timeoutMs} ms` : 'could not reach it' };
  }
  try {
    const { text, truncated } = await readLimited(res, opts.maxAnswer);
    return { kind: 'answered', status: res.status, text, truncated };
  } catch (e) {
    const name = (e as Error)?.name;
    return { kind: 'unreachable', message: name === 'TimeoutError' || name === 'AbortError' ? `no complete answer within ${opts.timeoutMs} ms` : 'the answer broke off' };
  }
}

async function readLimited(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      await reader.cancel();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    size += value.byteLength;
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** A new signing secret in the spec's `whsec_` + base64 form. */
export function newWebhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}
