import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorld, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;
let receiver: http.Server;
let url: string;
const received: string[] = [];
const cairn = (args: string[], extra: Record<string, string> = {}) => world.cairn(args, extra);

beforeAll(async () => {
  world = await startCliWorld();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(req.headers['webhook-id'] as string);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/in`;
});

afterAll(async () => {
  await world?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe('cairn webhooks', () => {
  it('creates a subscription (secret once), lists it, shows the delivery log and replays by number', async () => {
    const created = await cairn(['webhooks', 'create', '--name', 'Clinic', '--url', url, '--event-type', 'clinic.example/visit']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Signing secret \(shown once; give it to the receiver\): whsec_/);
    const list = await cairn(['webhooks', 'list']);
    expect(list.stdout).toMatch(/Clinic\s+active\s+http:\/\/127\.0\.0\.1/);
    expect(list.stdout).not.toContain('whsec_');

    await world.admin.events.append([{ type: 'clinic.example/visit', data: { room: 1 } }]);
    for (let i = 0; i < 200 && !(await cairn(['webhooks', 'deliveries', 'Clinic', '--status', 'delivered'])).stdout.includes('HTTP 200'); i++) await new Promise((r) => setTimeout(r, 100));
    const log = await cairn(['webhooks', 'deliveries', 'Clinic']);
    expect(log.stdout).toMatch(/^#\s+CREATED/);
    const seq = /\n(\d+)\s/.exec(log.stdout)![1]!;
    const replay = await cairn(['webhooks', 'replay', 'Clinic', seq]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`^Queued #${seq} again as #\\d+`));
    for (let i = 0; i < 200 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(received[1]).toBe(received[0]);

    expect((await cairn(['webhooks', 'pause', 'Clinic'])).stdout).toBe('Clinic: paused\n');
    const none = await cairn(['webhooks', 'create', '--name', 'X', '--url', url]);
    expect(none.code).toBe(2);
    const missing = await cairn(['webhooks', 'deliveries', 'Nope']);
    expect(missing.stderr).toMatch(/\(not_found\)\n$/);
    const bad = await cairn(['webhooks', 'create', '--name', 'X', '--url', 'ftp://x/', '--action', 'declare']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\(validation_failed\)/);
  });
});
