import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { userContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore, type UserRow } from './auth.store.js';
import { hashPassword, passwordProblem } from './auth.passwords.js';
import { audit } from './auth.shared.js';
import type { SessionsService } from './sessions.service.js';

const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

/** First run: whether Cairn still needs its first administrator, and creating (and signing in) that one. */
export class SetupService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    /** Signs the first admin in at the end of the setup page's step. */
    private readonly sessions: SessionsService,
  ) {}

  async needsSetup(): Promise<boolean> {
    return (await authStore.countUsers(this.db)) === 0;
  }

  /** Creates the first admin; refused once any user exists (also from the CLI). */
  async createFirstAdmin(username: string, password: string): Promise<UserRow> {
    this.checkUsername(username);
    const problem = passwordProblem(password, username);
    if (problem) throw fail('validation_failed', problem, [{ pointer: '/password', message: problem }]);
    const passwordHash = await hashPassword(password);
    return this.db.transaction().execute(async (trx) => {
      // Serialises concurrent setups so exactly one can see an empty users table.
      await authStore.lockSetup(trx);
      if ((await authStore.countUsers(trx)) > 0) throw fail('already_set_up', 'Cairn is already set up; sign in instead');
      const user = await authStore.insertUser(trx, { id: newId(), username, password_hash: passwordHash, role: 'admin' });
      const ctx = userContext(user, 'session');
      await audit(this.ledger, ctx, 'user.created', `user:${user.id}`, { userId: user.id, username, role: 'admin', firstAdmin: true }, trx);
      return user;
    });
  }

  private checkUsername(username: string) {
    if (typeof username !== 'string' || !USERNAME_RE.test(username)) {
      throw fail('validation_failed', 'Usernames are 2-64 letters, digits and . _ @ -, starting with a letter or digit', [{ pointer: '/username', message: 'invalid username' }]);
    }
  }

  /** Creates and signs in the first admin (the setup page's single step). */
  async setup(input: { username: string; password: string }, meta: { ip?: string; userAgent?: string; requestId?: string }) {
    const user = await this.createFirstAdmin(input.username, input.password);
    const session = await this.sessions.openSession(this.db, user, meta);
    return this.sessions.loginResult(user, session.id, session.token);
  }
}
