import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SessionsService } from './sessions.service.js';
import type { SetupService } from './setup.service.js';
import type { AccountsService } from './accounts.service.js';
import type { TotpService } from './totp.service.js';
import type { RecoveryCodesService } from './recovery-codes.service.js';
import type { ApiTokensService } from './api-tokens.service.js';
import type { Config } from '../config.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import { SCOPES } from '../kernel/access.js';
import { CSRF_COOKIE, SESSION_COOKIE, type LoginResult } from './auth.shared.js';

const UserSchema = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    displayName: Type.Union([Type.String(), Type.Null()]),
    totpEnabled: Type.Boolean(),
    mustEnrolTotp: Type.Boolean(),
    disabled: Type.Boolean(),
    createdAt: Type.String(),
  },
  { $id: 'User' },
);
const LoginResponse = Type.Object({ accessToken: Type.String(), expiresIn: Type.Integer(), user: Type.Ref('User') });
const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
const Credentials = Obj({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  totp: Type.Optional(Type.String({ maxLength: 12 })),
  /** Instead of `totp` when the device is lost: signs in once and removes the second factor. */
  recoveryCode: Type.Optional(Type.String({ maxLength: 32 })),
});
const RecoveryCodes = Type.Array(Type.String(), { description: 'Shown this once; each signs in once without the device' });

export interface AuthDeps {
  setup: SetupService;
  sessions: SessionsService;
  accounts: AccountsService;
  totp: TotpService;
  recoveryCodes: RecoveryCodesService;
  apiTokens: ApiTokensService;
  config: Pick<Config, 'publicUrl' | 'loginRateLimit'>;
}

export async function authRoutes(root: FastifyInstance, { setup, sessions, accounts, totp, recoveryCodes, apiTokens, config }: AuthDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(UserSchema);
  const secure = config.publicUrl?.startsWith('https:') ?? false;
  const meta = (req: FastifyRequest) => ({ ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id });

  const setSession = (reply: FastifyReply, r: LoginResult) => {
    if (r.session.token) {
      reply.setCookie(SESSION_COOKIE, r.session.token, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: r.session.maxAge });
    }
    reply.setCookie(CSRF_COOKIE, r.session.csrf, { path: '/', httpOnly: false, sameSite: 'lax', secure, maxAge: r.session.maxAge });
    return { accessToken: r.accessToken, expiresIn: r.expiresIn, user: r.user };
  };
  const loginLimit = { max: config.loginRateLimit, timeWindow: 60_000 };

  app.get('/api/v1/setup', {
    config: { access: 'public' },
    schema: { tags: ['auth'], summary: 'Whether the first admin still has to be created', response: { 200: Type.Object({ needsSetup: Type.Boolean() }) } },
  }, async () => ({ needsSetup: await setup.needsSetup() }));

  app.post('/api/v1/setup', {
    config: { access: 'public', rateLimit: loginLimit },
    schema: { tags: ['auth'], summary: 'Create the first admin (once) and sign in', body: Obj({ username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 1024 }) }), response: { 201: LoginResponse, ...errorResponses } },
  }, async (req, reply) => {
    const r = await setup.setup(req.body, meta(req));
    return reply.status(201).send(setSession(reply, r));
  });

  app.post('/api/v1/auth/login', {
    config: { access: 'public', rateLimit: loginLimit },
    schema: { tags: ['auth'], summary: 'Sign in; sets the session cookie and answers an access token', body: Credentials, response: { 200: LoginResponse, ...errorResponses } },
  }, async (req, reply) => setSession(reply, await sessions.login(req.body, meta(req))));

  app.post('/api/v1/auth/refresh', {
    config: { access: { actor: ['user'] } },
    schema: { tags: ['auth'], summary: 'A fresh access token for the browser session', response: { 200: LoginResponse, ...errorResponses } },
  }, async (req, reply) => setSession(reply, await sessions.refresh(req.auth)));

  app.post('/api/v1/auth/logout', {
    config: { access: { actor: ['user'] } },
    schema: { tags: ['auth'], summary: 'End the session', response: { 204: Type.Null() } },
  }, async (req, reply) => {
    await sessions.logout(req.auth);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
    return reply.status(204).send(null);
  });

  app.get('/api/v1/auth/me', {
    config: { access: { actor: ['user'] } },
    schema: { tags: ['auth'], summary: 'The signed-in user and their scopes', response: { 200: Type.Object({ user: Type.Ref('User'), scopes: Type.Array(Type.String()) }), ...errorResponses } },
  }, async (req) => accounts.me(req.auth));

  app.get('/api/v1/auth/scopes', {
    config: { access: 'authenticated' },
    schema: { tags: ['auth'], summary: 'Every scope and what it allows', response: { 200: Type.Object({ scopes: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })) }) } },
  }, async () => ({ scopes: Object.entries(SCOPES).map(([name, description]) => ({ name, description })) }));

  app.post('/api/v1/auth/password', {
    config: { access: { scope: 'account' } },
    schema: {
      tags: ['auth'],
      summary: 'Change your password; ends your other sessions and revokes your other personal API tokens',
      body: Obj({ currentPassword: Type.String({ maxLength: 1024 }), newPassword: Type.String({ maxLength: 1024 }) }),
      response: { 200: Type.Object({ endedSessions: Type.Integer(), revokedTokens: Type.Integer() }), ...errorResponses },
    },
  }, async (req) => {
    const b = req.body;
    return accounts.changePassword(req.auth, b.currentPassword, b.newPassword);
  });

  app.post('/api/v1/auth/totp/enrol', {
    config: { access: { scope: 'account' } },
    schema: { tags: ['auth'], summary: 'Start second-factor enrolment: a new secret and its otpauth URI', response: { 200: Type.Object({ secret: Type.String(), otpauthUri: Type.String() }), ...errorResponses } },
  }, async (req) => totp.enrolTotp(req.auth));

  app.post('/api/v1/auth/totp/confirm', {
    config: { access: { scope: 'account' } },
    schema: {
      tags: ['auth'],
      summary: 'Confirm enrolment with a current code; answers the one-time recovery codes',
      body: Obj({ code: Type.String({ maxLength: 12 }) }),
      response: { 200: Type.Object({ user: Type.Ref('User'), recoveryCodes: RecoveryCodes }), ...errorResponses },
    },
  }, async (req) => totp.confirmTotp(req.auth, req.body.code));

  app.post('/api/v1/auth/totp/disable', {
    config: { access: { scope: 'account' } },
    schema: { tags: ['auth'], summary: 'Turn the second factor off (needs a current code)', body: Obj({ code: Type.String({ maxLength: 12 }) }), response: { 200: Type.Object({ user: Type.Ref('User') }), ...errorResponses } },
  }, async (req) => totp.disableTotp(req.auth, req.body.code));

  app.get('/api/v1/auth/recovery-codes', {
    config: { access: { scope: 'account' } },
    schema: { tags: ['auth'], summary: 'How many of your recovery codes are unused', response: { 200: Type.Object({ remaining: Type.Integer() }), ...errorResponses } },
  }, async (req) => recoveryCodes.recoveryCodesLeft(req.auth));

  app.post('/api/v1/auth/recovery-codes', {
    config: { access: { scope: 'account' } },
    schema: {
      tags: ['auth'],
      summary: 'Replace your recovery codes (needs a current second-factor code); the old ones stop working',
      body: Obj({ code: Type.String({ maxLength: 12 }) }),
      response: { 200: Type.Object({ recoveryCodes: RecoveryCodes }), ...errorResponses },
    },
  }, async (req) => recoveryCodes.regenerateRecoveryCodes(req.auth, req.body.code));

  app.get('/api/v1/auth/tokens', {
    config: { access: { scope: 'account' } },
    schema: { tags: ['auth'], summary: 'Your personal API tokens', response: { 200: Type.Object({ tokens: Type.Array(TokenSchema) }), ...errorResponses } },
  }, async (req) => ({ tokens: await apiTokens.listTokens(req.auth) }));

  app.post('/api/v1/auth/tokens', {
    config: { access: { scope: 'account' } },
    schema: {
      tags: ['auth'],
      summary: 'Create a personal API token; the secret is shown only in this answer',
      body: Obj({ name: Type.String({ minLength: 1, maxLength: 100 }), scopes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 64 }), expiresInDays: Type.Integer({ minimum: 1, maximum: 366 }) }),
      response: { 201: Type.Object({ token: TokenSchema, secret: Type.String() }), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await apiTokens.createToken(req.auth, req.body)));

  app.delete('/api/v1/auth/tokens/:id', {
    config: { access: { scope: 'account' } },
    schema: { tags: ['auth'], summary: 'Revoke a token', params: Obj({ id: Uuid }), response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await apiTokens.revokeToken(req.auth, req.params.id);
    return reply.status(204).send(null);
  });
}
