import { seg, type HttpClient } from './http.js';
import type { Role, User } from './auth.js';

export interface CreateUserRequest {
  username: string;
  password: string;
  role: Role;
}

export interface Settings {
  /** Every user must enrol a second factor before using the API. */
  requireTotp: boolean;
}

/** Administration of accounts (admin only). */
export class UsersApi {
  constructor(private readonly http: HttpClient) {}

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
