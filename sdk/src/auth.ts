import { seg, type HttpClient } from './http.js';

export type Role = 'admin' | 'member';

export interface User {
  id: string;
  username: string;
  role: Role;
  /** The person's name, when one was given. */
  displayName: string | null;
  totpEnabled: boolean;
  mustEnrolTotp: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface LoginRequest {
  username: string;
  password: string;
  /** The current 6-digit code, when the account has a second factor. */
  totp?: string;
  /**
   * Instead of `totp` when the device is lost: one of the recovery codes shown at enrolment. It
   * signs in once and removes the second factor, so the person enrols their new device next.
   */
  recoveryCode?: string;
}

/** A confirmed enrolment: the user, and recovery codes shown this once. */
export interface TotpConfirmation {
  user: User;
  recoveryCodes: string[];
}

export interface LoginResponse {
  accessToken: string;
  /** Seconds until accessToken expires. */
  expiresIn: number;
  user: User;
}

export interface MeResponse {
  user: User;
  scopes: string[];
}

export interface ChangePasswordRequest {
  currentPassword: string;
  newPassword: string;
}

/** What a password change ended: the user's other sessions and personal API tokens. */
export interface ChangePasswordResult {
  endedSessions: number;
  revokedTokens: number;
}

export interface TotpEnrolment {
  /** Base32 secret, for typing into an authenticator by hand. */
  secret: string;
  /** otpauth:// URI, rendered as a QR code. */
  otpauthUri: string;
}

export interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreateTokenRequest {
  name: string;
  scopes: string[];
  expiresInDays: number;
}

export interface CreatedToken {
  token: ApiToken;
  /** The bearer secret: shown once, stored hashed by the server. */
  secret: string;
}

export interface ScopeInfo {
  name: string;
  description: string;
}

export class TotpApi {
  constructor(private readonly http: HttpClient) {}

  enrol(): Promise<TotpEnrolment> {
    return this.http.post('/api/v1/auth/totp/enrol');
  }
  /** Confirms enrolment; the recovery codes of the answer are never shown again (see confirmEnrolment). */
  async confirm(code: string): Promise<User> {
    return (await this.confirmEnrolment(code)).user;
  }
  /** Confirms enrolment and answers the one-time recovery codes with the user. */
  confirmEnrolment(code: string): Promise<TotpConfirmation> {
    return this.http.post('/api/v1/auth/totp/confirm', { code });
  }
  /** How many recovery codes are left unused. */
  async recoveryCodesLeft(): Promise<number> {
    return (await this.http.get<{ remaining: number }>('/api/v1/auth/recovery-codes')).remaining;
  }
  /** A new set of recovery codes (needs a current code); the old ones stop working. */
  async regenerateRecoveryCodes(code: string): Promise<string[]> {
    return (await this.http.post<{ recoveryCodes: string[] }>('/api/v1/auth/recovery-codes', { code })).recoveryCodes;
  }
  async disable(code: string): Promise<User> {
    return (await this.http.post<{ user: User }>('/api/v1/auth/totp/disable', { code })).user;
  }
}

export class TokensApi {
  constructor(private readonly http: HttpClient) {}

  async list(): Promise<ApiToken[]> {
    return (await this.http.get<{ tokens: ApiToken[] }>('/api/v1/auth/tokens')).tokens;
  }
  create(req: CreateTokenRequest): Promise<CreatedToken> {
    return this.http.post('/api/v1/auth/tokens', req);
  }
  revoke(id: string): Promise<void> {
    return this.http.delete(`/api/v1/auth/tokens/${seg(id)}`);
  }
}

export class AuthApi {
  readonly totp: TotpApi;
  readonly tokens: TokensApi;

  constructor(private readonly http: HttpClient) {
    this.totp = new TotpApi(http);
    this.tokens = new TokensApi(http);
  }

  /**
   * Signs in. Throws CairnError `totp_required` when the password was right but a code is
   * needed: call again with `totp`. In token mode the client keeps the access token for the
   * calls that follow (the CLI uses it to mint its own API token).
   */
  async login(req: LoginRequest): Promise<LoginResponse> {
    const res = await this.http.post<LoginResponse>('/api/v1/auth/login', req, { noRefresh: true });
    return res;
  }

  refresh(): Promise<LoginResponse> {
    return this.http.post('/api/v1/auth/refresh', undefined, { noRefresh: true });
  }

  logout(): Promise<void> {
    return this.http.post('/api/v1/auth/logout', undefined, { noRefresh: true });
  }

  me(): Promise<MeResponse> {
    return this.http.get('/api/v1/auth/me');
  }

  changePassword(req: ChangePasswordRequest): Promise<ChangePasswordResult> {
    return this.http.post('/api/v1/auth/password', req);
  }

  async scopes(): Promise<ScopeInfo[]> {
    return (await this.http.get<{ scopes: ScopeInfo[] }>('/api/v1/auth/scopes')).scopes;
  }
}
