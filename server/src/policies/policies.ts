/**
 * The one place resource-level rules live (platform issue 11). Routes declare the scopes a caller
 * needs (kernel/access.ts, `config.access`); services load the facts about one resource (who owns
 * it, the caller's membership, grants, reach) and ask `authorize(auth, action, resource)`, which
 * answers from these rules alone. The rules are pure: no database, no clock, so the authorisation
 * matrix (policies.test.ts) checks every caller × action × resource without a server.
 *
 * Refusals say as little as the caller may know: a caller who may not even read a resource gets
 * `not_found` ("hidden"), as if it did not exist; one who may read it but not do this gets
 * `forbidden`; an anonymous caller who could do more signed in gets `unauthenticated`.
 */
import { can, REGISTRATION_ROLE_RIGHTS, registrationRoleMay, WORKSPACE_ROLES, type AuthContext, type RegistrationRole, type WorkspaceRole } from '../kernel/access.js';
import { fail } from '../kernel/errors.js';

// --- resources, as the facts a service loads about them -----------------------------------

/** Roles on one dataset, weakest first. */
export const DATASET_ROLES = ['read', 'edit', 'admin'] as const;
export type DatasetRole = (typeof DATASET_ROLES)[number];

export interface DatasetResource {
  kind: 'dataset';
  ownerId: string;
  public: boolean;
  /** The caller's membership role on it, if the caller is a user with one. */
  memberRole: DatasetRole | null;
  /** The request carries a reviewer link for this dataset that is neither expired nor revoked. */
  reviewLink: boolean;
}

export interface WorkspaceResource {
  kind: 'workspace';
  /** The caller's roles on this workspace and every workspace above it (a role covers its subtree). */
  memberRoles: readonly string[];
}

/** What an app or a narrowed token may do with one event type. */
export interface Rights {
  read: boolean;
  create: boolean;
  modify: boolean;
  delete: boolean;
}

export interface EventResource {
  kind: 'event';
  type: string;
  /** Cairn's own audit types (reserved prefixes) are never anyone's events. */
  systemType: boolean;
  /** Who wrote it. */
  author: { kind: string; id: string | null };
  /** The caller's type grants, or null when the caller is not restricted by grants. */
  grants: ReadonlyMap<string, Rights> | null;
}

export interface ViewInstanceResource {
  kind: 'view-instance';
  appId: string;
}

export interface RegistrationResource {
  kind: 'registration';
  /** The caller's registration role and the path prefix their role reaches (null: the whole country). */
  caller: { role: RegistrationRole; reach: string | null };
  /** The workspace path of the registration's office. */
  officePath: string;
  /** The roles the registration type's document allows for this action, if it narrows them. */
  typeRoles?: readonly string[];
  /** A custom action of the type (governed by the role's `custom` right). */
  custom?: boolean;
}

export type Resource = DatasetResource | WorkspaceResource | EventResource | ViewInstanceResource | RegistrationResource;

/** The actions each kind of resource knows. */
export interface Actions {
  dataset: DatasetRole;
  workspace: WorkspaceRole;
  event: keyof Rights;
  'view-instance': 'read' | 'run' | 'change';
  registration: string;
}

export type Decision = { allow: true } | { allow: false; code: 'not_found' | 'forbidden' | 'unauthenticated'; message: string };

const allow: Decision = { allow: true };
const deny = (code: 'not_found' | 'forbidden' | 'unauthenticated', message: string): Decision => ({ allow: false, code, message });

// --- the rules -----------------------------------------------------------------------------

/**
 * The caller's effective role on a dataset, or null. Membership is capped by the token's scopes
 * (a read-only API token of an editor stays read-only); public datasets and valid reviewer links
 * give read access to anyone, signed in or not.
 */
export function datasetRole(auth: AuthContext, ds: DatasetResource): DatasetRole | null {
  if ((auth.actor.kind === 'user' || auth.actor.kind === 'system') && can(auth, 'datasets:manage')) return 'admin';
  if (auth.actor.kind === 'user') {
    const own: DatasetRole | null = ds.ownerId === auth.actor.userId ? 'admin' : ds.memberRole;
    if (own && can(auth, 'datasets:write')) return own;
    if (own && can(auth, 'datasets:read')) return 'read';
  }
  if (ds.public || ds.reviewLink) return 'read';
  return null;
}

export const datasetRoleAtLeast = (role: DatasetRole | null, min: DatasetRole) => role !== null && DATASET_ROLES.indexOf(role) >= DATASET_ROLES.indexOf(min);

/** The caller's effective role on a workspace (administrators manage every one), or null. */
export function workspaceRole(auth: AuthContext, ws: WorkspaceResource): WorkspaceRole | null {
  if (can(auth, 'workspaces:manage')) return 'manager';
  if (auth.actor.kind !== 'user') return null;
  let best = -1;
  for (const r of ws.memberRoles) best = Math.max(best, WORKSPACE_ROLES.indexOf(r as WorkspaceRole));
  return best < 0 ? null : WORKSPACE_ROLES[best]!;
}

function decideDataset(auth: AuthContext, min: DatasetRole, ds: DatasetResource): Decision {
  const role = datasetRole(auth, ds);
  if (!role) return deny('not_found', 'No such dataset');
  if (datasetRoleAtLeast(role, min)) return allow;
  if (auth.actor.kind === 'anonymous') return deny('unauthenticated', 'Sign in to change this dataset');
  return deny('forbidden', `This needs the ${min} role on the dataset`);
}

function decideWorkspace(auth: AuthContext, min: WorkspaceRole, ws: WorkspaceResource): Decision {
  if (auth.actor.kind === 'anonymous') return deny('unauthenticated', 'Sign in first');
  const role = workspaceRole(auth, ws);
  if (!role) return deny('not_found', 'No such workspace');
  if (WORKSPACE_ROLES.indexOf(role) >= WORKSPACE_ROLES.indexOf(min)) return allow;
  return deny('forbidden', `This needs the ${min} role on the workspace`);
}

/**
 * May the caller do `op` with a stored event? Judged on the entry's own type, never on anything
 * the request says. Callers restricted by grants (apps, narrowed tokens) act within their grants,
 * users only on their own entries; administrators read everything, but changing someone else's
 * data goes through that person's grants, not around them.
 */
function decideEvent(auth: AuthContext, op: keyof Rights, e: EventResource): Decision {
  const hidden = deny('not_found', 'No such event');
  if (e.systemType) return hidden;
  if (auth.actor.kind === 'anonymous') return deny('unauthenticated', 'Sign in first');
  const own = auth.actor.kind === 'user' && e.author.kind === 'user' && e.author.id === auth.actor.userId;
  if (e.grants) {
    if (auth.actor.kind === 'user' && !own) return hidden;
    // A type grant on a personal token narrows its scopes, it does not replace them.
    if (auth.actor.kind === 'user' && !can(auth, op === 'read' ? 'events:read' : 'events:write')) return hidden;
    const g = e.grants.get(e.type);
    if (!g) return hidden;
    if (g[op]) return allow;
    return g.read ? deny('forbidden', `You have no ${op} grant on ${e.type}`) : hidden;
  }
  if (!own) return op === 'read' && can(auth, 'ledger:read') ? allow : hidden;
  const scope = op === 'read' ? 'events:read' : 'events:write';
  return can(auth, scope) ? allow : deny('forbidden', `This needs the ${scope} permission`);
}

/** An app sees and runs only its own view instances; view managers see and change every one. */
function decideViewInstance(auth: AuthContext, action: Actions['view-instance'], v: ViewInstanceResource): Decision {
  if (auth.actor.kind === 'app') return auth.actor.appId === v.appId ? allow : deny('not_found', 'No such view');
  if (!can(auth, 'views:manage')) return deny('not_found', 'No such view');
  return action === 'run' ? deny('forbidden', 'Only the app that owns a view runs it') : allow;
}

/**
 * Civil registration: the role must allow the action (a type's document may narrow, never widen,
 * the roles), and the registration's office must lie within the caller's reach, else it is hidden.
 */
function decideRegistration(auth: AuthContext, action: string, r: RegistrationResource): Decision {
  if (auth.actor.kind === 'anonymous') return deny('unauthenticated', 'Sign in first');
  if (r.caller.reach !== null && !r.officePath.startsWith(r.caller.reach)) return deny('not_found', 'No such registration');
  if (action === 'read') return allow;
  if (!registrationRoleMay(r.caller.role, action, !!r.custom)) return deny('forbidden', `A ${r.caller.role} cannot ${action}`);
  if (r.typeRoles && !r.typeRoles.includes(r.caller.role)) return deny('forbidden', `This type lets only ${r.typeRoles.join(', ')} ${action}`);
  return allow;
}

/** The decision, without throwing: for the matrix test and for screens that explain "why not". */
export function decide<R extends Resource>(auth: AuthContext, action: Actions[R['kind']], resource: R): Decision {
  switch (resource.kind) {
    case 'dataset':
      return decideDataset(auth, action as DatasetRole, resource);
    case 'workspace':
      return decideWorkspace(auth, action as WorkspaceRole, resource);
    case 'event':
      return decideEvent(auth, action as keyof Rights, resource);
    case 'view-instance':
      return decideViewInstance(auth, action as Actions['view-instance'], resource);
    case 'registration':
      return decideRegistration(auth, action as string, resource);
  }
}

/** Throws the refusal as a catalogued error (404 / 403 / 401); returns when allowed. */
export function authorize<R extends Resource>(auth: AuthContext, action: Actions[R['kind']], resource: R): void {
  const d = decide(auth, action, resource);
  if (!d.allow) throw fail(d.code, d.message);
}

/** A registration role's reach as data, for services that list within it. */
export const registrationReach = (role: RegistrationRole) => REGISTRATION_ROLE_RIGHTS[role].reach;
