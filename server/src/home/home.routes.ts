import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { HomeService } from './home.service.js';
import { errorResponses } from '../kernel/http.js';

const Trend = Type.Object({ total: Type.Integer(), weekly: Type.Array(Type.Integer()) });
const Attention = Type.Object({
  kind: Type.Union([Type.Literal('app_requests'), Type.Literal('workqueue'), Type.Literal('enrol_totp'), Type.Literal('recovery_codes_low')]),
  queue: Type.Optional(Type.String()),
  count: Type.Optional(Type.Integer()),
});
const Recent = Type.Object({
  kind: Type.Union([Type.Literal('record'), Type.Literal('dataset'), Type.Literal('registration')]),
  /** Record and registration ids; a dataset's accession. */
  id: Type.String(),
  label: Type.String(),
  detail: Type.String(),
  at: Type.String(),
});

export interface HomeDeps {
  home: HomeService;
}

export async function homeRoutes(app: FastifyInstance, { home }: HomeDeps) {
  app.get('/api/v1/home', {
    config: { access: { actor: ['user'] } },
    schema: {
      tags: ['home'],
      summary: 'Your home page: counts with weekly trends, recent changes, what needs your attention',
      description: 'Each count is present only when you may read that domain, and covers only what you reach there (your workspaces, datasets shared with you, your jurisdiction).',
      response: {
        200: Type.Object({
          weekStarts: Type.Array(Type.String()),
          counts: Type.Object({ subjects: Type.Optional(Trend), records: Type.Optional(Trend), datasets: Type.Optional(Trend), registrations: Type.Optional(Trend), pendingRequests: Type.Optional(Type.Integer()) }),
          attention: Type.Array(Attention),
          recent: Type.Array(Recent),
        }),
        ...errorResponses,
      },
    },
  }, async (req) => home.summary(req.auth));
}
