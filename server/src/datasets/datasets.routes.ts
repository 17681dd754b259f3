import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { DatasetsService } from './datasets.service.js';
import type { DatasetSharingService } from './dataset-sharing.service.js';
import type { DatasetVersionsService } from './dataset-versions.service.js';
import type { UploadsService } from './datasets.uploads.js';
import { AppError } from '../kernel/errors.js';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { ErrorSchema, Obj, Uuid, errorResponses } from '../kernel/http.js';
import { toAppError, mapErrors } from './datasets.errors.js';
import type { DatasetCaller } from './datasets.access.js';
import { DATASET_ROLES } from './datasets.access.js';
import { archiveStream } from './datasets.archive.js';
import { rawHeaders } from '../kernel/raw-responses.js';
import { attachAuth, BATCH_BODY_LIMIT, BATCH_MAX_FILE_BYTES, BATCH_MAX_FILES, TUS_PATH } from './datasets.uploads.js';
import type { TreeChange } from './datasets.tree.js';
import { CommitAnswer, DetailAnswer, SearchAnswer, TreeAnswer, ValidationAnswer, datasetSchemas } from './datasets.schemas.js';

const caller = (req: FastifyRequest): DatasetCaller => {
  const h = req.headers['x-cairn-review'];
  // Any route may be read through a reviewer link, whatever its own querystring schema says.
  const q = (req.query as { review?: string } | undefined)?.review;
  const review = typeof h === 'string' && h ? h : q;
  return review ? { auth: req.auth, review } : { auth: req.auth };
};

const DsParams = Obj({ ds: Type.String({ minLength: 1, maxLength: 64 }) });
const VerParams = Obj({ ds: Type.String({ minLength: 1, maxLength: 64 }), ver: Type.String({ minLength: 1, maxLength: 80 }) });
const review = { review: Type.Optional(Type.String({ maxLength: 200 })) };
const query = <T extends Record<string, TSchema>>(props: T) => Obj({ ...props, ...review });
const PathQ = query({ path: Type.String({ maxLength: 4096 }) });
const FolderQ = query({ path: Type.Optional(Type.String({ maxLength: 4096 })) });
const Hash = Type.String({ maxLength: 128 });
const P = Type.String({ maxLength: 4096 });
// One object shape with the fields every op may use (the service checks which ones each op needs):
// a union of closed objects produced confusing "missing sha256" errors for a valid rename.
const Change = Obj({
  op: Type.Union([Type.Literal('put'), Type.Literal('delete'), Type.Literal('move'), Type.Literal('rename')]),
  path: Type.Optional(P),
  sha256: Type.Optional(Hash),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  from: Type.Optional(P),
  to: Type.Optional(P),
  name: Type.Optional(Type.String({ maxLength: 1024 })),
});
/**
 * The schema checks each change's shape; which fields an op needs (a put's sha256 and size, a
 * move's from and to) the service checks with a pointer to the field, so the body is handed on as
 * the union it has been checked to be there.
 */
const changesOf = (b: { changes: unknown[]; baseRevision?: number; message?: string }) => ({ ...b, changes: b.changes as TreeChange[] });
const CommitBody = Obj({
  changes: Type.Array(Change, { minItems: 1, maxItems: 200_000 }),
  baseRevision: Type.Optional(Type.Integer({ minimum: 0 })),
  message: Type.Optional(Type.String({ maxLength: 2000 })),
});
const DatasetFields = {
  title: Type.String({ minLength: 1, maxLength: 300 }),
  description: Type.Optional(Type.String({ maxLength: 20_000 })),
  license: Type.Optional(Type.String({ maxLength: 100 })),
  authors: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 200 })),
  modalities: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 50 })),
  public: Type.Optional(Type.Boolean()),
  bidsOptions: Type.Optional(Type.Object({ ignoreEmptyFiles: Type.Optional(Type.Boolean()), ignoreNiftiHeaders: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
};
const tags = ['datasets'];
// Success bodies are documented by the SDK types; the schema only pins the error shape.
const R = { ...errorResponses, 200: Type.Any(), 201: Type.Any(), 202: Type.Any(), 204: Type.Null(), 206: Type.Any(), 413: Type.Ref('Error'), 416: Type.Ref('Error') };
/** The error responses with one success body: routes with a real response schema. */
const ok = <C extends 200 | 201>(code: C, body: TSchema) => ({ ...errorResponses, 413: Type.Ref('Error'), ...({ [code]: body } as Record<C, TSchema>) });
const COMMIT_BODY_LIMIT = 64 * 1024 * 1024;

/** `Range: bytes=a-b | a- | -n`; several ranges are answered with the whole file (allowed by RFC 9110). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'invalid' {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return header.includes(',') ? undefined : 'invalid';
  const [a, b] = [m[1]!, m[2]!];
  if (a === '' && b === '') return 'invalid';
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'invalid';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || (b !== '' && Number(b) < start)) return 'invalid';
  return { start, end };
}

function findNul(v: unknown, at = ''): string | undefined {
  if (typeof v === 'string') return v.includes('\u0000') ? at : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = findNul(v[i], `${at}/${i}`);
      if (r !== undefined) return r;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const r = findNul(x, `${at}/${k}`);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

const disposition = (name: string) => {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
};

export interface DatasetsDeps {
  datasets: DatasetsService;
  /** Versions, commits, snapshots, trees, diffs, validation. */
  versions: DatasetVersionsService;
  /** Members and reviewer links. */
  sharing: DatasetSharingService;
  uploads: UploadsService;
  /** A version's file tree, read outside any transaction (the archive route streams its entries). */
}

export async function datasetsRoutes(root: FastifyInstance, { datasets, versions, sharing, uploads }: DatasetsDeps) {
  await root.register(async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    // Blob and path errors become catalog errors here; the root handler then renders them.
    app.setErrorHandler((err) => {
      throw toAppError(err);
    });
    // The same validation rules as the root (strict bodies, lenient query strings), set here
    // explicitly: a scope registered before the root gains shared schemas falls back to Fastify's
    // default compiler (coercing, stripping unknown fields), which would accept `title: 5`.
    const strict = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: false, strict: false });
    const lenient = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: 'array', strict: false });
    for (const a of [strict, lenient]) {
      addFormats.default(a);
      a.addSchema(ErrorSchema);
    }
    app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));
    for (const schema of datasetSchemas) app.addSchema(schema);
    // PostgreSQL text cannot hold NUL: refuse it at the door rather than as a database error.
    app.addHook('preValidation', async (req) => {
      for (const [part, value] of [['params', req.params], ['querystring', req.query], ['body', req.body]] as const) {
        const at = findNul(value);
        if (at === undefined) continue;
        // A dataset path keeps its own error code, whichever field carried it.
        if (/\/(path|from|to|name|oldPath)$/.test(at)) throw new AppError('path_invalid', `${at} contains a NUL or control character`, [{ code: 'path_invalid', pointer: at }]);
        throw new AppError('validation_failed', `Invalid ${part}: ${at || '/'} contains a NUL character`, [{ in: part, pointer: at || '/', message: 'NUL character' }]);
      }
    });

    app.get('/api/v1/datasets', {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Search datasets by text (title, description, accession, authors, modalities) and facets (modality, license, author, public or mine); no account needed for public ones',
        querystring: Obj({
          q: Type.Optional(Type.String({ maxLength: 500 })),
          author: Type.Optional(Type.String({ maxLength: 300, description: 'part of an author\'s name, any case' })),
          modality: Type.Optional(Type.String({ maxLength: 50 })),
          license: Type.Optional(Type.String({ maxLength: 100 })),
          scope: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('public'), Type.Literal('mine')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
        }),
        response: ok(200, SearchAnswer),
      },
    }, async (req) => datasets.search(req.auth, req.query));

    app.post('/api/v1/datasets', {
      config: { access: { scope: 'datasets:write' } },
      schema: {
        tags,
        summary: 'Create a dataset (accession id such as ds000001); `readme` becomes README.md in the draft',
        body: Obj({ ...DatasetFields, profile: Type.Optional(Type.Union([Type.Literal('generic'), Type.Literal('bids')])), readme: Type.Optional(Type.String({ maxLength: 1_000_000 })) }),
        response: ok(201, DetailAnswer),
      },
    }, async (req, reply) => reply.status(201).send({ dataset: await datasets.create(req.auth, req.body) }));

    app.get('/api/v1/datasets/:ds', {
      config: { access: 'public' },
      schema: { tags, summary: 'A dataset with its draft (editors) and snapshots', params: DsParams, querystring: query({}), response: ok(200, DetailAnswer) },
    }, async (req) => ({ dataset: await datasets.get(caller(req), req.params.ds) }));

    app.patch('/api/v1/datasets/:ds', {
      config: { access: 'authenticated' },
      schema: {
        tags,
        summary: 'Change metadata; visibility needs the admin role, quota an instance administrator',
        params: DsParams,
        body: Obj({ ...DatasetFields, title: Type.Optional(DatasetFields.title), quotaBytes: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])) }),
        response: ok(200, DetailAnswer),
      },
    }, async (req) => ({ dataset: await datasets.update(caller(req), req.params.ds, req.body) }));

    app.get('/api/v1/datasets/:ds/history', {
      config: { access: 'public' },
      schema: { tags, summary: 'Ledger entries of this dataset (stream dataset:<id>)', params: DsParams, querystring: query({ after: Type.Optional(Type.String({ maxLength: 64 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }), response: R },
    }, async (req) => {
      const q = req.query;
      return datasets.history(caller(req), req.params.ds, q.after, q.limit);
    });

    // --- versions ---------------------------------------------------------------------------
    const ver = (req: { params: { ds: string; ver: string } }) => req.params;
    app.get('/api/v1/datasets/:ds/versions/:ver/tree', {
      config: { access: 'public' },
      schema: { tags, summary: "One folder of a version's tree (`ver`: draft, a tag or a version id)", params: VerParams, querystring: FolderQ, response: ok(200, TreeAnswer) },
    }, async (req) => versions.tree(caller(req), ver(req).ds, ver(req).ver, req.query.path ?? ''));

    app.get('/api/v1/datasets/:ds/versions/:ver/files', {
      config: { access: 'public' },
      schema: { tags, summary: 'Every file of a version (or of a folder), with sha256 and size', params: VerParams, querystring: FolderQ, response: R },
    }, async (req) => versions.files(caller(req), ver(req).ds, ver(req).ver, req.query.path ?? ''));

    app.get('/api/v1/datasets/:ds/versions/:ver/file', {
      config: { access: 'public' },
      schema: { tags, summary: 'Download one file; supports Range', params: VerParams, querystring: PathQ, response: R },
    }, async (req, reply) => {
      const { entry } = await versions.file(caller(req), ver(req).ds, ver(req).ver, req.query.path);
      const range = parseRange(req.headers.range, entry.size);
      reply.header('accept-ranges', 'bytes').header('etag', `"${entry.sha256}"`).header('x-content-sha256', entry.sha256);
      reply.header('content-type', 'application/octet-stream').header('content-disposition', disposition(entry.path.slice(entry.path.lastIndexOf('/') + 1)));
      if (range === 'invalid') {
        throw new AppError('blob_range_invalid', `Range ${req.headers.range} is not satisfiable for ${entry.size} bytes`, undefined, { 'content-range': `bytes */${entry.size}` });
      }
      const ifRange = req.headers['if-range'];
      const useRange = range && (!ifRange || ifRange === `"${entry.sha256}"`) ? range : undefined;
      if (req.method === 'HEAD') {
        reply.header('content-length', String(useRange ? useRange.end - useRange.start + 1 : entry.size));
        return reply.status(useRange ? 206 : 200).send();
      }
      const stream = await mapErrors(() => versions.blobs.get(entry.sha256, useRange));
      if (useRange) {
        reply.status(206).header('content-range', `bytes ${useRange.start}-${useRange.end}/${entry.size}`).header('content-length', String(useRange.end - useRange.start + 1));
      } else reply.header('content-length', String(entry.size));
      return reply.send(stream);
    });

    app.get('/api/v1/datasets/:ds/versions/:ver/preview', {
      config: { access: 'public' },
      schema: { tags, summary: 'Preview a small text, JSON or TSV file', params: VerParams, querystring: PathQ, response: R },
    }, async (req) => versions.preview(caller(req), ver(req).ds, ver(req).ver, req.query.path));

    app.get('/api/v1/datasets/:ds/versions/:ver/archive', {
      config: { access: 'public' },
      schema: { tags, summary: 'The whole version as a streamed zip or tar.gz', params: VerParams, querystring: query({ format: Type.Optional(Type.Union([Type.Literal('zip'), Type.Literal('tar.gz')])) }), response: R },
    }, async (req, reply) => {
      const format = req.query.format ?? 'zip';
      const { ds, version } = await versions.version(caller(req), ver(req).ds, ver(req).ver);
      const entries = await versions.archiveEntries(version);
      const name = `${ds.accession}-${version.tag ?? 'draft'}`;
      reply.header('content-type', format === 'zip' ? 'application/zip' : 'application/gzip').header('content-disposition', disposition(`${name}.${format}`));
      return reply.send(archiveStream(versions.blobs, entries, format, name, version.updated_at));
    });

    app.get('/api/v1/datasets/:ds/versions/:ver/validation', {
      config: { access: 'public' },
      schema: { tags, summary: 'Validation status and issues of a version', params: VerParams, querystring: query({}), response: ok(200, ValidationAnswer) },
    }, async (req) => versions.validationOf(caller(req), ver(req).ds, ver(req).ver));

    app.post('/api/v1/datasets/:ds/validation', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Validate the draft again', params: DsParams, response: R },
    }, async (req, reply) => {
      await versions.requestValidation(caller(req), req.params.ds);
      return reply.status(202).send({ queued: true });
    });

    app.get('/api/v1/datasets/:ds/diff', {
      config: { access: 'public' },
      schema: { tags, summary: 'Diff two versions (draft included): added, removed, modified, renamed', params: DsParams, querystring: query({ from: Type.String({ maxLength: 80 }), to: Type.String({ maxLength: 80 }) }), response: R },
    }, async (req) => {
      const q = req.query;
      return versions.diff(caller(req), req.params.ds, q.from, q.to);
    });

    app.get('/api/v1/datasets/:ds/diff/lines', {
      config: { access: 'public' },
      schema: { tags, summary: 'Line diff of one small text file between two versions', params: DsParams, querystring: query({ from: Type.String({ maxLength: 80 }), to: Type.String({ maxLength: 80 }), path: P, oldPath: Type.Optional(P) }), response: R },
    }, async (req) => {
      const q = req.query;
      return versions.lineDiff(caller(req), req.params.ds, q.from, q.to, q.path, q.oldPath);
    });

    // --- changes, uploads, snapshots --------------------------------------------------------
    app.post('/api/v1/datasets/:ds/draft/changes', {
      config: { access: { scope: 'datasets:write' } },
      bodyLimit: COMMIT_BODY_LIMIT,
      schema: { tags, summary: 'Delete, move or rename in the draft (or put content you can already read), atomically', params: DsParams, body: CommitBody, response: ok(200, CommitAnswer) },
    }, async (req) => {
      const b = changesOf(req.body);
      return versions.applyChanges(caller(req), req.params.ds, b.changes, { baseRevision: b.baseRevision, message: b.message });
    });

    app.post('/api/v1/datasets/:ds/uploads', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Open an upload session', params: DsParams, response: R },
    }, async (req, reply) => reply.status(201).send({ session: await uploads.createSession(caller(req), req.params.ds) }));

    const SessParams = Obj({ ds: Type.String({ minLength: 1, maxLength: 64 }), sid: Uuid });
    const sess = (req: { params: { ds: string; sid: string } }) => req.params;
    app.post('/api/v1/datasets/:ds/uploads/:sid/check', {
      config: { access: { scope: 'datasets:write' } },
      bodyLimit: COMMIT_BODY_LIMIT,
      schema: { tags, summary: 'Which of these sha256 hashes the server already has for you (those files need not be sent)', params: SessParams, body: Obj({ sha256: Type.Array(Hash, { maxItems: 200_000 }) }), response: R },
    }, async (req) => uploads.check(caller(req), sess(req).ds, sess(req).sid, req.body.sha256));

    app.post('/api/v1/datasets/:ds/uploads/:sid/batch', {
      config: { access: { scope: 'datasets:write' } },
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Send many small files in one request (each verified by its sha256); larger files go through tus',
        description:
          `Stages files of at most ${BATCH_MAX_FILE_BYTES} bytes each (at most ${BATCH_MAX_FILES} per request, body up to ${BATCH_BODY_LIMIT} bytes) ` +
          'into the upload session, exactly like finished tus uploads: nothing reaches the draft before the commit. Each body is base64; ' +
          'its length and sha256 must match what is announced, else the whole batch is refused (blob_size_mismatch, blob_hash_mismatch) and nothing is recorded.',
        params: SessParams,
        body: Obj({
          files: Type.Array(
            Obj({
              sha256: Hash,
              size: Type.Integer({ minimum: 0 }),
              data: Type.String({ maxLength: Math.ceil(BATCH_MAX_FILE_BYTES / 3) * 4, contentEncoding: 'base64', description: 'the file\'s bytes, base64' }),
            }),
            { minItems: 1, maxItems: BATCH_MAX_FILES },
          ),
        }),
        response: R,
      },
    }, async (req) => uploads.batch(caller(req), sess(req).ds, sess(req).sid, req.body.files));

    app.post('/api/v1/datasets/:ds/uploads/:sid/commit', {
      config: { access: { scope: 'datasets:write' } },
      bodyLimit: COMMIT_BODY_LIMIT,
      schema: { tags, summary: 'Apply the session: one atomic change set on the draft', params: SessParams, body: CommitBody, response: ok(200, CommitAnswer) },
    }, async (req) => uploads.commit(caller(req), sess(req).ds, sess(req).sid, changesOf(req.body)));

    app.delete('/api/v1/datasets/:ds/uploads/:sid', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Abandon an upload session and its staged bytes', params: SessParams, response: R },
    }, async (req, reply) => {
      await uploads.abort(caller(req), sess(req).ds, sess(req).sid);
      return reply.status(204).send(null);
    });

    app.post('/api/v1/datasets/:ds/snapshots', {
      config: { access: { scope: 'datasets:write' } },
      schema: {
        tags,
        summary: 'Snapshot the draft: bump (major|minor|patch) or an explicit semver, with a changelog; refused while the draft has validation errors',
        params: DsParams,
        body: Obj({ bump: Type.Optional(Type.Union([Type.Literal('major'), Type.Literal('minor'), Type.Literal('patch')])), version: Type.Optional(Type.String({ maxLength: 80 })), changelog: Type.String({ maxLength: 20_000 }) }),
        response: R,
      },
    }, async (req, reply) => reply.status(201).send({ snapshot: await versions.snapshot(caller(req), req.params.ds, req.body) }));

    app.post('/api/v1/datasets/:ds/snapshots/:ver/deprecate', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Deprecate a snapshot with a reason (it stays downloadable)', params: VerParams, body: Obj({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }), response: R },
    }, async (req) => ({ snapshot: await versions.deprecate(caller(req), ver(req).ds, ver(req).ver, req.body.reason) }));

    // --- permissions ------------------------------------------------------------------------
    app.get('/api/v1/datasets/:ds/members', {
      config: { access: 'authenticated' },
      schema: { tags, summary: 'Owner and members with their roles', params: DsParams, response: R },
    }, async (req) => sharing.members(caller(req), req.params.ds));

    app.put('/api/v1/datasets/:ds/members/:userId', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Grant a role (read, edit, admin)', params: Obj({ ds: Type.String({ minLength: 1, maxLength: 64 }), userId: Uuid }), body: Obj({ role: Type.Union(DATASET_ROLES.map((r) => Type.Literal(r))) }), response: R },
    }, async (req, reply) => {
      const p = req.params;
      await sharing.setMember(caller(req), p.ds, p.userId, req.body.role);
      return reply.status(204).send(null);
    });

    app.delete('/api/v1/datasets/:ds/members/:userId', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Remove a member', params: Obj({ ds: Type.String({ minLength: 1, maxLength: 64 }), userId: Uuid }), response: R },
    }, async (req, reply) => {
      const p = req.params;
      await sharing.removeMember(caller(req), p.ds, p.userId);
      return reply.status(204).send(null);
    });

    app.get('/api/v1/datasets/:ds/reviewer-links', {
      config: { access: 'authenticated' },
      schema: { tags, summary: 'Anonymous reviewer links', params: DsParams, response: R },
    }, async (req) => ({ links: await sharing.reviewerLinks(caller(req), req.params.ds) }));

    app.post('/api/v1/datasets/:ds/reviewer-links', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Create a read-only, expiring reviewer link (the token is shown once)', params: DsParams, body: Obj({ expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })), note: Type.Optional(Type.String({ maxLength: 500 })) }), response: R },
    }, async (req, reply) => reply.status(201).send({ link: await sharing.createReviewerLink(caller(req), req.params.ds, req.body) }));

    app.delete('/api/v1/datasets/:ds/reviewer-links/:id', {
      config: { access: { scope: 'datasets:write' } },
      schema: { tags, summary: 'Revoke a reviewer link', params: Obj({ ds: Type.String({ minLength: 1, maxLength: 64 }), id: Uuid }), response: R },
    }, async (req, reply) => {
      const p = req.params;
      await sharing.revokeReviewerLink(caller(req), p.ds, p.id);
      return reply.status(204).send(null);
    });
  });

  // tus reads the raw request body itself: its routes live in their own scope whose parser leaves
  // the body unread, and the reply is handed over to tus entirely.
  await root.register(async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      attachAuth(req.raw, req.auth);
      rawHeaders(req, reply);
      reply.hijack();
      await uploads.tus.handle(req.raw, reply.raw);
    };
    const opts = { config: { access: { scope: 'datasets:write' as const } }, schema: { hide: true } };
    app.route({ method: ['POST', 'OPTIONS'], url: TUS_PATH, ...opts, handler });
    app.route({ method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'], url: `${TUS_PATH}/:id`, ...opts, handler });
  });
}
