import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ViewTemplatesService, RegisterTemplateInput } from './view-templates.service.js';
import type { ViewInstancesService } from './view-instances.service.js';
import type { ViewRunsService } from './view-runs.service.js';
import { Obj, errorResponses } from '../kernel/http.js';
import { MAX_FILES } from './sandbox/sandbox.js';

const Runtime = Type.Union([Type.Literal('javascript'), Type.Literal('python')]);
const Limits = Type.Object(
  { memoryMb: Type.Integer(), cpuMs: Type.Integer(), maxResultBytes: Type.Integer(), maxQueryLimit: Type.Integer() },
  { description: 'Effective limits (requested values clamped to the maxima, missing ones defaulted)' },
);
const VersionFields = {
  version: Type.Integer(),
  runtime: Runtime,
  description: Type.String(),
  eventTypes: Type.Array(Type.String()),
  limits: Limits,
  files: Type.Array(Type.String(), { description: 'File names' }),
  createdAt: Type.String(),
};
const TemplateVersion = Type.Object({ ...VersionFields, instances: Type.Optional(Type.Integer()) }, { $id: 'ViewTemplateVersion' });
const TemplateSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  latestVersion: Type.Integer(),
  runtime: Runtime,
  description: Type.String(),
  eventTypes: Type.Array(Type.String()),
  limits: Limits,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  instances: Type.Optional(Type.Integer()),
});
const Sources = Type.Record(Type.String(), Type.String());
const Stats = Type.Object({
  runs: Type.Integer(),
  cacheHits: Type.Integer(),
  failures: Type.Integer(),
  eventsRead: Type.Integer(),
  averageDurationMs: Type.Union([Type.Integer(), Type.Null()]),
  lastRunAt: Type.Union([Type.String(), Type.Null()]),
  lastDurationMs: Type.Union([Type.Integer(), Type.Null()]),
  lastErrorCode: Type.Union([Type.String(), Type.Null()]),
});
const Instance = Type.Object(
  {
    id: Type.String(),
    appId: Type.String(),
    appName: Type.Optional(Type.String()),
    templateId: Type.String(),
    templateName: Type.String(),
    templateVersion: Type.Integer(),
    runtime: Runtime,
    eventTypes: Type.Array(Type.String()),
    configuration: Type.Unknown(),
    status: Type.Union([Type.Literal('ready'), Type.Literal('awaiting_approval')]),
    missingGrants: Type.Array(Type.String()),
    permissionRequests: Type.Array(Type.Object({ eventType: Type.String(), requestId: Type.Union([Type.String(), Type.Null()]), status: Type.String() })),
    createdAt: Type.String(),
    stats: Stats,
  },
  { $id: 'ViewInstance' },
);
const IdParams = Obj({ id: Type.String({ maxLength: 64 }) });
const TEMPLATE_BODY_LIMIT = 4 * 1024 * 1024;

export interface ViewsDeps {
  templates: ViewTemplatesService;
  instances: ViewInstancesService;
  runs: ViewRunsService;
}

export async function viewsRoutes(root: FastifyInstance, { templates, instances, runs }: ViewsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(TemplateVersion);
  app.addSchema(Instance);
  // One sandbox per process; whoever closes the app (server stop, tests) stops its workers too.
  app.addHook('onClose', async () => runs.close());

  // --- templates (administrators) --------------------------------------------------------

  app.post('/api/v1/view-templates', {
    config: { access: { scope: 'views:manage' } },
    bodyLimit: TEMPLATE_BODY_LIMIT,
    schema: {
      tags: ['views'],
      summary: 'Register a view template, or a new version of the template with this name',
      description:
        'Every file is compiled in the sandbox first (422 view_compile_error with file and line). Registering the same sources, types, limits and description again is a no-op (200); anything changed is a new version (201). See docs/views.md.',
      body: Obj({
        name: Type.String({ minLength: 1, maxLength: 100 }),
        runtime: Runtime,
        files: Type.Record(Type.String({ maxLength: 200 }), Type.String(), { maxProperties: MAX_FILES, description: 'File name → source; the entry is main.js or main.py' }),
        eventTypes: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 20 })),
        description: Type.Optional(Type.String({ maxLength: 2000 })),
        limits: Type.Optional(
          Obj({
            memoryMb: Type.Optional(Type.Integer({ minimum: 1 })),
            cpuMs: Type.Optional(Type.Integer({ minimum: 1 })),
            maxResultBytes: Type.Optional(Type.Integer({ minimum: 1 })),
            maxQueryLimit: Type.Optional(Type.Integer({ minimum: 1 })),
          }),
        ),
      }),
      response: {
        200: Type.Object({ id: Type.String(), name: Type.String(), latestVersion: Type.Integer(), ...VersionFields }),
        201: Type.Object({ id: Type.String(), name: Type.String(), latestVersion: Type.Integer(), ...VersionFields }),
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const { created, template } = await templates.registerTemplate(req.auth, req.body);
    return reply.status(created ? 201 : 200).send(template);
  });

  app.get('/api/v1/view-templates', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['views'],
      summary: 'View templates with their latest version (administrators and apps)',
      response: { 200: Type.Object({ templates: Type.Array(TemplateSummary) }), ...errorResponses },
    },
  }, async (req) => ({ templates: await templates.listTemplates(req.auth) }));

  app.get('/api/v1/view-templates/:id', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['views'],
      summary: 'One template: its versions, and for administrators the latest version\'s sources',
      params: IdParams,
      response: {
        200: Type.Object({ id: Type.String(), name: Type.String(), latestVersion: Type.Integer(), createdAt: Type.String(), versions: Type.Array(Type.Ref('ViewTemplateVersion')), sources: Type.Optional(Sources) }),
        ...errorResponses,
      },
    },
  }, async (req) => templates.templateDetail(req.auth, req.params.id));

  app.get('/api/v1/view-templates/:id/versions/:version', {
    config: { access: { scope: 'views:manage' } },
    schema: {
      tags: ['views'],
      summary: 'One version of a template with its sources',
      params: Obj({ id: Type.String({ maxLength: 64 }), version: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }),
      response: { 200: Type.Object({ id: Type.String(), name: Type.String(), ...VersionFields, sources: Sources }), ...errorResponses },
    },
  }, async (req) => {
    const p = req.params;
    return templates.templateVersion(req.auth, p.id, p.version);
  });

  app.delete('/api/v1/view-templates/:id', {
    config: { access: { scope: 'views:manage' } },
    schema: {
      tags: ['views'],
      summary: 'Delete a template and all its versions; refused (409 view_template_in_use) while an instance uses it',
      params: IdParams,
      response: { 204: Type.Null(), ...errorResponses },
    },
  }, async (req, reply) => {
    await templates.deleteTemplate(req.auth, req.params.id);
    return reply.status(204).send(null);
  });

  // --- instances (apps) ------------------------------------------------------------------

  app.post('/api/v1/views', {
    config: { access: { actor: ['app'] } },
    schema: {
      tags: ['views'],
      summary: 'Create a view instance (template + fixed configuration) for the calling app',
      description:
        'Files a read permission request for each event type the template reads that the app does not hold or await yet; the view runs once an administrator approved them all. Answers the instance with its permission requests.',
      body: Obj({ templateId: Type.String({ maxLength: 64 }), templateVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })), configuration: Type.Optional(Type.Unknown()) }),
      response: { 201: Type.Ref('ViewInstance'), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await instances.createInstance(req.auth, req.body)));

  app.get('/api/v1/views', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['views'],
      summary: 'View instances: an app sees its own, an administrator every app\'s (filter by appId, templateId)',
      querystring: Obj({ appId: Type.Optional(Type.String({ maxLength: 64 })), templateId: Type.Optional(Type.String({ maxLength: 64 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      response: { 200: Type.Object({ views: Type.Array(Type.Ref('ViewInstance')) }), ...errorResponses },
    },
  }, async (req) => ({ views: await instances.listInstances(req.auth, req.query) }));

  app.get('/api/v1/views/:id', {
    config: { access: 'authenticated' },
    schema: { tags: ['views'], summary: 'One view instance with its approval status and run statistics', params: IdParams, response: { 200: Type.Ref('ViewInstance'), ...errorResponses } },
  }, async (req) => instances.instance(req.auth, req.params.id));

  app.delete('/api/v1/views/:id', {
    config: { access: 'authenticated' },
    schema: { tags: ['views'], summary: 'Delete a view instance (its app, or an administrator)', params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await instances.deleteInstance(req.auth, req.params.id);
    return reply.status(204).send(null);
  });

  app.post('/api/v1/view-templates/:id/test-run', {
    config: { access: { scope: 'views:manage' } },
    bodyLimit: TEMPLATE_BODY_LIMIT,
    schema: {
      tags: ['views'],
      summary: 'Try a template version with sample events, configuration and input, before any app uses it',
      description:
        'Runs in the same sandbox and under the same limits as an app\'s run. The view reads only the sample `events` (never stored data), through the same `events.query`, ' +
        'restricted to the template\'s event types; nothing is cached or counted. A failing view answers 422 with its own code, like a run.',
      params: IdParams,
      body: Obj({
        version: Type.Optional(Type.Integer({ minimum: 1, description: 'default: the latest' })),
        configuration: Type.Optional(Type.Unknown()),
        input: Type.Optional(Type.Unknown()),
        events: Type.Optional(
          Type.Array(Obj({ type: Type.String({ minLength: 1, maxLength: 200 }), occurredAt: Type.Optional(Type.String({ maxLength: 40 })), data: Type.Unknown() }), { maxItems: 1000 }),
        ),
      }),
      response: {
        200: Type.Object({ version: Type.Integer(), result: Type.Unknown(), stats: Type.Object({ durationMs: Type.Integer(), eventsRead: Type.Integer() }) }),
        ...errorResponses,
        503: Type.Ref('Error'),
      },
    },
  }, async (req) => templates.testRun(req.auth, req.params.id, req.body));

  app.post('/api/v1/views/:id/run', {
    config: { access: { actor: ['app'] } },
    schema: {
      tags: ['views'],
      summary: 'Run a view with a per-call input',
      description:
        'Answers `{ result, stats: { durationMs, eventsRead, cached } }`. The same input while no event of the template\'s types was appended, modified or deleted answers from the cache. A failing view answers 422 with its own code (view_timeout, view_memory_exceeded, view_output_too_large, view_runtime_error, view_invalid_result, view_query_invalid); 403 view_not_approved until every read grant is approved; 503 view_unavailable when the sandbox is saturated.',
      params: IdParams,
      body: Type.Optional(Obj({ input: Type.Optional(Type.Unknown()) })),
      response: {
        200: Type.Object({ result: Type.Unknown(), stats: Type.Object({ durationMs: Type.Integer(), eventsRead: Type.Integer(), cached: Type.Boolean() }) }),
        ...errorResponses,
        503: Type.Ref('Error'),
      },
    },
  }, async (req, reply) => {
    const body = (req.body ?? {}) as { input?: unknown };
    const { resultJson, stats } = await runs.run(req.auth, req.params.id, body.input);
    // The result goes out exactly as the view serialised it: no parse and re-serialise.
    return reply.type('application/json; charset=utf-8').send(`{"result":${resultJson},"stats":${JSON.stringify(stats)}}`);
  });
}
