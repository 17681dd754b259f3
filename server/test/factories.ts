import type { App } from '../src/app.js';

/**
 * Test data made through the public API, as a person or an app would make it, so a test states
 * what it needs ("a workspace with Ana as member, a subject with a session") instead of repeating
 * requests. Each factory fails loudly with the server's answer when the server refuses, so a
 * broken setup is not mistaken for the behaviour under test.
 */
export interface Factories {
  /** A workspace (inside `parentId` when given); its id. */
  workspace(name: string, parentId?: string): Promise<string>;
  /** A member account, signed in; password `<username> password 1`. */
  user(username: string, role?: 'member' | 'admin'): Promise<{ id: string; authorization: string }>;
  /** Adds a person to a workspace with a role (or changes their role). */
  member(workspaceId: string, userId: string, role?: 'viewer' | 'member' | 'manager'): Promise<void>;
  /** Publishes an instrument definition (as sent to POST /instruments). */
  instrument(definition: object): Promise<void>;
  /** A subject with a custom identifier; its id. */
  subject(workspaceId: string, identifier: string, as?: string): Promise<string>;
  /** An in-person session of a subject; its id. */
  session(subjectId: string, as?: string): Promise<string>;
  /**
   * Somewhere to write records: a workspace with subject P1 and P1's in-person session, and the
   * one-number form `tiny` (edition 1, field `n`) published; once per app, as `tiny` is published.
   */
  recordingSession(workspaceName?: string): Promise<{ workspaceId: string; subjectId: string; sessionId: string }>;
}

/** The form recordingSession publishes: one number, `n`. */
const TINY_FORM = {
  kind: 'form', name: 'tiny', edition: 1, languages: ['en'], details: { title: { en: 'Tiny' }, license: 'CC0-1.0' },
  content: [{ kind: 'number', name: 'n', label: { en: 'N' } }],
};

type Inject = (method: string, url: string, authorization: string | undefined, payload?: unknown) => Promise<{ statusCode: number; body: string; json(): any }>;

const expectStatus = (what: string, r: { statusCode: number; body: string }, status: number) => {
  if (r.statusCode !== status) throw new Error(`test setup: ${what} answered ${r.statusCode} (expected ${status}): ${r.body.slice(0, 300)}`);
};

/** Factories acting as `admin` (a bearer header) unless a call passes another caller. */
export function factories(app: App, admin: string): Factories {
  const inject: Inject = (method, url, authorization, payload) =>
    app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const made: Factories = {
    async workspace(name, parentId) {
      const r = await inject('POST', '/api/v1/workspaces', admin, { name, ...(parentId ? { parentId } : {}) });
      expectStatus(`creating workspace ${name}`, r, 201);
      return r.json().workspace.id as string;
    },
    async user(username, role = 'member') {
      const password = `${username} password 1`;
      expectStatus(`creating user ${username}`, await inject('POST', '/api/v1/users', admin, { username, password, role }), 201);
      const login = await inject('POST', '/api/v1/auth/login', undefined, { username, password });
      expectStatus(`signing in as ${username}`, login, 200);
      return { id: login.json().user.id as string, authorization: `Bearer ${login.json().accessToken as string}` };
    },
    async member(workspaceId, userId, role = 'member') {
      expectStatus('adding a member', await inject('PUT', `/api/v1/workspaces/${workspaceId}/members/${userId}`, admin, { role }), 204);
    },
    async instrument(definition) {
      expectStatus('publishing an instrument', await inject('POST', '/api/v1/instruments', admin, definition), 201);
    },
    async subject(workspaceId, identifier, as = admin) {
      const r = await inject('POST', `/api/v1/workspaces/${workspaceId}/subjects`, as, { identifier, identifierKind: 'custom' });
      expectStatus(`adding subject ${identifier}`, r, 201);
      return r.json().subject.id as string;
    },
    async session(subjectId, as = admin) {
      const r = await inject('POST', `/api/v1/subjects/${subjectId}/sessions`, as, { kind: 'in_person' });
      expectStatus('opening a session', r, 201);
      return r.json().session.id as string;
    },
    async recordingSession(workspaceName = 'Clinic') {
      const workspaceId = await made.workspace(workspaceName);
      const subjectId = await made.subject(workspaceId, 'P1');
      const sessionId = await made.session(subjectId);
      await made.instrument(TINY_FORM);
      return { workspaceId, subjectId, sessionId };
    },
  };
  return made;
}
