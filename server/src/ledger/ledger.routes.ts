import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CredentialsService } from '../auth/credentials.service.js';
import { Obj, errorResponses } from '../kernel/http.js';
import { AnyObject } from '../kernel/schemas.js';
import { checkTypeFilter, decodeCursor, encodeCursor, MAX_BATCH, type AppendInput, type LedgerService } from './ledger.service.js';
import type { LedgerOperations } from './ledger.operations.js';
import type { EventsService } from '../event-types/events.service.js';
import type { LedgerCursor } from './ledger.store.js';
import { rawHeaders } from '../kernel/raw-responses.js';

/** An entry as the API answers it; other domains extend it (e.g. a modified event's version links). */
export const entryProperties = {
  id: Type.String(),
  position: Type.Integer(),
  type: Type.String(),
  typeVersion: Type.Union([Type.Integer(), Type.Null()]),
  stream: Type.Union([Type.String(), Type.Null()]),
  streamSeq: Type.Union([Type.Integer(), Type.Null()]),
  data: Type.Unknown(),
  actor: Type.Object({ kind: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  occurredAt: Type.String(),
  recordedAt: Type.String(),
  transactionId: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String(),
};
const EntrySchema = Type.Object(entryProperties, { $id: 'LedgerEntry' });

const NewEvent = Obj({
  type: Type.String({ minLength: 1, maxLength: 200 }),
  stream: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  data: AnyObject(),
  occurredAt: Type.Optional(Type.String({ maxLength: 64 })),
  transactionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

export const ListQuery = Obj({
  type: Type.Optional(Type.String({ maxLength: 200 })),
  stream: Type.Optional(Type.String({ maxLength: 200 })),
  after: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(Type.String({ maxLength: 64 })),
  to: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  current: Type.Optional(Type.Boolean({ description: 'Only current versions: leave out deleted and superseded (modified) entries. Always on for app and type-granted callers.' })),
});

export interface LedgerDeps {
  ledger: LedgerService;
  operations: Pick<LedgerOperations, 'tailStart' | 'verify'>;
  /** A live tail rechecks its caller's credentials as it goes. */
  auth: Pick<CredentialsService, 'recheck'>;
  /** `GET /events/{id}?current=true` answers a modified event's current version. */
  events: Pick<EventsService, 'current'>;
}

export async function ledgerRoutes(root: FastifyInstance, { ledger, operations, auth, events }: LedgerDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(EntrySchema);

  app.post('/api/v1/events', {
    config: { access: { anyScope: ['events:write'] } },
    schema: {
      tags: ['events'],
      summary: 'Append a batch of events atomically',
      description: 'All or nothing. A repeated transactionId (per caller) returns the original entry and writes nothing.',
      body: Obj({ events: Type.Array(NewEvent, { minItems: 1, maxItems: MAX_BATCH }) }),
      response: {
        201: Type.Object({ events: Type.Array(Type.Object({ id: Type.String(), position: Type.Integer(), cursor: Type.String(), replayed: Type.Boolean() })) }),
        200: Type.Object({ events: Type.Array(Type.Object({ id: Type.String(), position: Type.Integer(), cursor: Type.String(), replayed: Type.Boolean() })) }),
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const { events } = req.body;
    const result = await ledger.append(req.auth, ledger.prepare(req.auth, events));
    return reply.status(result.every((r) => r.replayed) ? 200 : 201).send({ events: result });
  });

  app.get('/api/v1/events', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['events'],
      summary: 'Page through events in ledger order',
      description: '`after` is the opaque `next` of the previous page. `from`/`to` filter on occurredAt (to is exclusive).',
      querystring: ListQuery,
      response: { 200: Type.Object({ events: Type.Array(Type.Ref('LedgerEntry')), next: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
    },
  }, async (req, reply) => {
    const { current, ...q } = req.query;
    // Already JSON: sent as is, past the response serializer.
    return reply.type('application/json; charset=utf-8').send(await ledger.listJson(req.auth, { ...q, excludeErased: current === true }));
  });

  app.get('/api/v1/events/stream', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['events'],
      summary: 'Live tail (Server-Sent Events)',
      description: 'Each entry is sent as `event: entry` with `id:` set to its cursor; reconnecting with Last-Event-ID resumes exactly after it. `backlog=N` starts N entries before the end when no cursor is given.',
      querystring: Obj({ after: Type.Optional(Type.String({ maxLength: 64 })), type: Type.Optional(Type.String({ maxLength: 200 })), stream: Type.Optional(Type.String({ maxLength: 200 })), backlog: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })) }),
    },
  }, async (req, reply) => {
    const q = req.query;
    let scope = await ledger.readScope(req.auth);
    checkTypeFilter(scope, q.type);
    const lastEventId = req.headers['last-event-id'];
    const resume = typeof lastEventId === 'string' && lastEventId ? lastEventId : q.after;
    let cursor: LedgerCursor | undefined = resume ? decodeCursor(resume) : await operations.tailStart(q.backlog ?? 0);

    rawHeaders(req, reply); // security headers and request id, which a hijacked reply skips
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
    });
    res.write(': connected\n\n');
    let closed = false;
    let wake: (() => void) | undefined;
    const onAppend = () => wake?.();
    const onShutdown = () => {
      closed = true;
      wake?.();
    };
    ledger.appended.on('append', onAppend);
    ledger.appended.once('shutdown', onShutdown);
    req.raw.on('close', () => {
      closed = true;
      wake?.();
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
    try {
      while (!closed) {
        // Re-read each round: a revoked grant or app ends an open stream too (the error ends it),
        // and so does a person's ended credential (revoked token, logout, disabled or demoted
        // user), checked through the same caches as a new request would be.
        scope = await ledger.readScope(await auth.recheck(req.auth));
        checkTypeFilter(scope, q.type);
        const page = await ledger.page(scope, cursor, { type: q.type, stream: q.stream }, 500);
        for (const { entry, cursor: c } of page) {
          res.write(`id: ${encodeCursor(c)}\nevent: entry\ndata: ${JSON.stringify(entry)}\n\n`);
          cursor = c;
        }
        if (page.length === 500) continue;
        // Woken by our own appends at once; other servers' appends (and entries held back by a
        // transaction still open) are picked up by the short poll.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 250);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
    } catch (e) {
      req.log.warn({ err: e }, 'live tail ended with an error');
    } finally {
      clearInterval(heartbeat);
      ledger.appended.off('append', onAppend);
      ledger.appended.off('shutdown', onShutdown);
      res.end();
    }
  });

  app.get('/api/v1/events/:id', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['events'],
      summary: 'One event',
      description: 'With `current=true`, any version id (typically the first one, the root id an app keeps) answers the current version of a modified event; 404 when it was deleted.',
      params: Obj({ id: Type.String({ maxLength: 64 }) }),
      querystring: Obj({ current: Type.Optional(Type.Boolean()) }),
      response: { 200: Type.Ref('LedgerEntry'), ...errorResponses },
    },
  }, async (req) => {
    const id = req.params.id;
    return req.query.current ? events.current(req.auth, id) : ledger.get(req.auth, id);
  });

  app.post('/api/v1/ledger/verify', {
    config: { access: { scope: 'ledger:verify' } },
    schema: {
      tags: ['ledger'],
      summary: 'Check the ledger for tampering',
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          checked: Type.Integer(),
          checkpoints: Type.Integer(),
          unsealed: Type.Optional(Type.Integer({ description: 'Entries committed since the last checkpoint seal (at most one checkpoint interval ago); see docs/security.md' })),
          problems: Type.Array(Type.Object({ kind: Type.String(), entryId: Type.Optional(Type.String()), position: Type.Optional(Type.Integer()), stream: Type.Optional(Type.String()), checkpoint: Type.Optional(Type.Integer()), message: Type.String() })),
        }),
        ...errorResponses,
      },
    },
  }, async (req) => {
    return operations.verify(req.auth.actor.kind === 'user' ? req.auth.actor.userId : null);
  });
}
