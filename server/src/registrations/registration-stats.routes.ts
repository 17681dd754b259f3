import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import type { RegistrationStatsService } from './registration-stats.service.js';

const read = { scope: 'registrations:read' } as const;

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });
const Query = Obj({
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' })),
  from: Type.Optional(Day),
  to: Type.Optional(Type.String({ ...Day, description: 'YYYY-MM-DD, inclusive' })),
  location: Type.Optional(Uuid),
});
const Figures = { registered: Type.Integer(), withinYear: Type.Integer() };
const Stats = Type.Object({
  type: Type.Union([Type.String(), Type.Null()]),
  from: Type.String(),
  to: Type.String(),
  root: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  total: Type.Object(Figures),
  months: Type.Array(Type.Object({ month: Type.String(), ...Figures })),
  places: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), ...Figures })),
  cells: Type.Array(Type.Object({ month: Type.String(), placeId: Type.String(), ...Figures })),
});

export interface RegistrationStatsDeps {
  registrationStats: RegistrationStatsService;
}

export async function registrationStatsRoutes(root: FastifyInstance, { registrationStats: stats }: RegistrationStatsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/v1/registrations/stats', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: 'The performance dashboard: registered records per month (of registration, UTC) and place (one level below the chosen location, your area, or the country), and how many were registered within a year of the event; within your jurisdiction',
      querystring: Query,
      response: { 200: Stats, ...errorResponses },
    },
  }, async (req) => stats.stats(req.auth, req.query));

  app.get('/api/v1/registrations/stats.csv', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: 'The performance figures as CSV (month, location, registered, registered within a year, completeness): counts only, no personal data',
      querystring: Query,
      produces: ['text/csv'],
      response: { 200: Type.String(), ...errorResponses },
    },
  }, async (req, reply) => {
    const s = await stats.stats(req.auth, req.query);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="registrations-performance-${s.type ?? 'all'}-${s.from}-${s.to}.csv"`)
      .send(stats.csv(s));
  });
}
