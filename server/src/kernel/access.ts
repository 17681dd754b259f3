import { AppError } from './errors.js';

/**
 * The one access module. Every route declares who may call it (`config.access`), every service
 * receives the caller's AuthContext first and asks this module, never its own ad-hoc checks.
 *
 * Scopes are the unit of permission. Roles are named sets of scopes; personal API tokens carry a
 * subset of their owner's scopes; apps carry only what an admin approved for them.
 */
export const SCOPES = {
  account: 'Manage your own account: password, second factor, API tokens',
  'events:read': 'Read ledger entries you wrote',
  'events:write': 'Append ledger entries',
  'ledger:read': 'Read every ledger entry, including the audit trail',
  'ledger:verify': 'Check the ledger for tampering',
  'users:manage': 'Create, disable and reset users',
  'workspaces:read': 'See workspaces you belong to',
  'workspaces:write': 'Create sub-workspaces and manage members where you hold the manager role',
  'workspaces:manage': 'Create workspaces and manage their members',
  'settings:manage': 'Change instance-wide settings',
  'event-types:manage': 'Register event types and new versions of their schemas',
  'apps:manage': 'Register apps, approve and revoke their permissions',
  'instruments:manage': 'Upload instruments, publish new editions and retire them',
  'records:read': 'Read subjects, sessions and records in workspaces where you hold a role',
  'records:write': 'Create subjects, sessions and records; edit, delete and import them (with a member role on the workspace)',
  'datasets:read': 'Read datasets shared with you (public ones need no permission)',
  'datasets:write': 'Create datasets and change those you are an editor of',
  'datasets:manage': 'Administer every dataset, whoever owns it',
  'views:manage': 'Register view templates (code that runs over events) and see every view instance',
  'projections:manage': 'See projections of the ledger and rebuild them',
  'registrations:read': 'Read civil registrations within your jurisdiction (with a registration role)',
  'registrations:write': 'Take the civil registration actions your registration role allows',
  'registrations:manage': "Define registration types and set users' offices and registration roles",
  'webhooks:manage': 'Subscribe other systems to entries (outbound webhooks), see deliveries and replay them',
} as const satisfies Record<string, string>;

export type Scope = keyof typeof SCOPES;
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];
export const isScope = (s: string): s is Scope => Object.hasOwn(SCOPES, s);

export const ROLES = {
  admin: ALL_SCOPES,
  member: ['account', 'events:read', 'events:write', 'workspaces:read', 'workspaces:write', 'records:read', 'records:write', 'datasets:read', 'datasets:write', 'registrations:read', 'registrations:write'] satisfies Scope[],
} as const satisfies Record<string, readonly Scope[]>;
export type Role = keyof typeof ROLES;

export type Actor =
  | { kind: 'user'; userId: string; username: string; role: Role; via: 'session' | 'access_token' | 'api_token'; sessionId?: string; tokenId?: string }
  | { kind: 'app'; appId: string; name: string }
  | { kind: 'system' }
  | { kind: 'anonymous' };

export interface AuthContext {
  actor: Actor;
  scopes: ReadonlySet<Scope>;
  requestId?: string;
  ip?: string;
}

export const anonymous = (requestId?: string, ip?: string): AuthContext => ({ actor: { kind: 'anonymous' }, scopes: new Set(), requestId, ip });
export const systemContext: AuthContext = { actor: { kind: 'system' }, scopes: new Set(ALL_SCOPES) };

export function userContext(
  user: { id: string; username: string; role: Role },
  via: 'session' | 'access_token' | 'api_token',
  extra: { sessionId?: string; tokenId?: string; scopes?: readonly string[]; requestId?: string; ip?: string } = {},
): AuthContext {
  const roleScopes = ROLES[user.role] as readonly Scope[];
  // A token can narrow its owner's scopes, never widen them: a demoted user's old tokens shrink too.
  const scopes = extra.scopes ? roleScopes.filter((s) => extra.scopes!.includes(s)) : roleScopes;
  return {
    actor: { kind: 'user', userId: user.id, username: user.username, role: user.role, via, sessionId: extra.sessionId, tokenId: extra.tokenId },
    scopes: new Set(scopes),
    requestId: extra.requestId,
    ip: extra.ip,
  };
}

/** What a route declares: anyone, any signed-in caller, or callers holding a scope. */
export type RouteAccess = 'public' | 'authenticated' | { scope: Scope } | { anyScope: Scope[] } | { actor: Actor['kind'][]; scope?: Scope };

export const can = (ctx: AuthContext, scope: Scope): boolean => ctx.scopes.has(scope);

export function requireAuthenticated(ctx: AuthContext): void {
  if (ctx.actor.kind === 'anonymous') throw new AppError('unauthenticated', 'Sign in or send a bearer token');
}

export function requireScope(ctx: AuthContext, scope: Scope): void {
  requireAuthenticated(ctx);
  if (!can(ctx, scope)) throw new AppError('forbidden', `This needs the ${scope} permission`);
}

export function requireUser(ctx: AuthContext): Extract<Actor, { kind: 'user' }> {
  requireAuthenticated(ctx);
  if (ctx.actor.kind !== 'user') throw new AppError('forbidden', 'Only a signed-in user can do this');
  return ctx.actor;
}

export function enforceRouteAccess(access: RouteAccess, ctx: AuthContext): void {
  if (access === 'public') return;
  requireAuthenticated(ctx);
  if (access === 'authenticated') return;
  if ('scope' in access && !('actor' in access)) return requireScope(ctx, access.scope);
  if ('anyScope' in access) {
    if (!access.anyScope.some((s) => can(ctx, s))) throw new AppError('forbidden', `This needs one of: ${access.anyScope.join(', ')}`);
    return;
  }
  if ('actor' in access) {
    if (!access.actor.includes(ctx.actor.kind)) throw new AppError('forbidden', `Only ${access.actor.join(' or ')} callers can do this`);
    if (access.scope) requireScope(ctx, access.scope);
  }
}

/** Identifies an actor in the ledger and in idempotency keys. */
export function actorRef(ctx: AuthContext): { kind: 'user' | 'app' | 'system' | 'anonymous'; id: string | null } {
  const a = ctx.actor;
  switch (a.kind) {
    case 'user':
      return { kind: 'user', id: a.userId };
    case 'app':
      return { kind: 'app', id: a.appId };
    default:
      return { kind: a.kind, id: null };
  }
}

// --- workspaces ---------------------------------------------------------------------------
/** Member roles on a workspace, weakest first; a role on a workspace applies to its subtree. */
export const WORKSPACE_ROLES = ['viewer', 'member', 'manager'] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

export const workspaceRoleAtLeast = (role: WorkspaceRole, min: WorkspaceRole) => WORKSPACE_ROLES.indexOf(role) >= WORKSPACE_ROLES.indexOf(min);

export function strongestWorkspaceRole(roles: readonly string[]): WorkspaceRole | null {
  let best = -1;
  for (const r of roles) best = Math.max(best, WORKSPACE_ROLES.indexOf(r as WorkspaceRole));
  return best < 0 ? null : WORKSPACE_ROLES[best]!;
}

// --- civil registration -------------------------------------------------------------------
/**
 * Registration roles (docs/registrations.md): a user-level setting beside the Cairn role, with
 * the user's office. `reach` is how far a role's rights go in the workspace tree: the
 * jurisdiction (the area directly above the user's office, and everything under it) or the
 * country. `supervisor` roles may take over another user's assignment. A type's document may
 * narrow `actions` per action, never widen them.
 */
export const REGISTRATION_ROLE_RIGHTS = {
  'field-agent': { reach: 'jurisdiction', supervisor: false, actions: ['notify', 'declare', 'assign', 'unassign'] },
  'registration-agent': {
    reach: 'jurisdiction',
    supervisor: false,
    actions: ['notify', 'declare', 'validate', 'reject', 'archive', 'print-certificate', 'request-correction', 'assign', 'unassign', 'duplicate-detected', 'custom'],
  },
  'local-registrar': {
    reach: 'jurisdiction',
    supervisor: true,
    actions: ['notify', 'declare', 'validate', 'register', 'reject', 'archive', 'print-certificate', 'request-correction', 'approve-correction', 'reject-correction', 'assign', 'unassign', 'duplicate-detected', 'mark-not-duplicate', 'mark-as-duplicate', 'custom'],
  },
  'national-registrar': {
    reach: 'country',
    supervisor: true,
    actions: ['notify', 'declare', 'validate', 'register', 'reject', 'archive', 'print-certificate', 'request-correction', 'approve-correction', 'reject-correction', 'assign', 'unassign', 'duplicate-detected', 'mark-not-duplicate', 'mark-as-duplicate', 'custom'],
  },
} as const satisfies Record<string, { reach: 'jurisdiction' | 'country'; supervisor: boolean; actions: readonly string[] }>;
export type RegistrationRole = keyof typeof REGISTRATION_ROLE_RIGHTS;
export const isRegistrationRole = (r: unknown): r is RegistrationRole => typeof r === 'string' && Object.hasOwn(REGISTRATION_ROLE_RIGHTS, r);
/** Whether a registration role may take an action at all (`custom` stands for type-defined actions). */
export function registrationRoleMay(role: RegistrationRole, action: string, custom: boolean): boolean {
  const actions: readonly string[] = REGISTRATION_ROLE_RIGHTS[role].actions;
  return actions.includes(custom ? 'custom' : action);
}
