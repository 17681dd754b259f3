import { seg, type HttpClient } from './http.js';
import type { Role, User } from './auth.js';

export interface CreateUserRequest {
  username: string;
  password: string;
  role: Role;
  /** The person's name, shown and searched beside the username. */
  displayName?: string | null;
}

/** A person as the user picker finds them. */
export interface UserHit {
  id: string;
  username: string;
  displayName: string | null;
}

/** "Ada Lovelace (ada)", or the username alone. */
export const userLabel = (u: { username: string; displayName?: string | null }): string => (u.displayName ? `${u.displayName} (${u.username})` : u.username);

export interface Settings {
  /** Every user must enrol a second factor before using the API. */
  requireTotp: boolean;
}

/** Administration of accounts (admin only). */
export class UsersApi {
  constructor(private readonly http: HttpClient) {}

  /**
   * Finds people by username or name (anywhere in either). Admins find every enabled account;
   * others find people sharing a workspace tree with them, and anyone by exact username.
   */
  async search(q: string, o: { limit?: number; signal?: AbortSignal } = {}): Promise<UserHit[]> {
    return (await this.http.get<{ users: UserHit[] }>('/api/v1/users/search', { q, limit: o.limit }, o.signal ? { signal: o.signal } : {})).users;
  }
  /** Sets or clears a person's name (admins: anyone; others: themselves). */
  async setDisplayName(id: string, displayName: string | null): Promise<User> {
    return (await this.http.patch<{ user: User }>(`/api/v1/users/${seg(id)}`, { displayName })).user;
  }
  async list(): Promise<User[]> {
    return (await this.http.get<{ users: User[] }>('/api/v1/users')).users;
  }
  async create(req: CreateUserRequest): Promise<User> {
    return (await this.http.post<{ user: User }>('/api/v1/users', req)).user;
  }
  async disable(id: string): Promise<User> {
    return (await this.http.post<{ user: User }>(`/api/v1/users/${seg(id)}/disable`)).user;
  }
  async enable(id: string): Promise<User> {
    return (await this.http.post<{ user: User }>(`/api/v1/users/${seg(id)}/enable`)).user;
  }
  /** Removes the user's second factor (a lost phone); they enrol again at next sign-in if required. */
  async resetTotp(id: string): Promise<User> {
    return (await this.http.post<{ user: User }>(`/api/v1/users/${seg(id)}/reset-totp`)).user;
  }
}

export class SettingsApi {
  constructor(private readonly http: HttpClient) {}

  get(): Promise<Settings> {
    return this.http.get('/api/v1/settings');
  }
  update(patch: Partial<Settings>): Promise<Settings> {
    return this.http.patch('/api/v1/settings', patch);
  }
}
