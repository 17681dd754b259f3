import os from 'node:os';
import type { Command } from 'commander';
import { isCairnError, type CairnClient, type LoginResponse } from '@cairn/sdk';
import { configPath, readLogin, removeLogin, writeLogin } from '../config.store.js';
import { anonymousClient, DEFAULT_URL, normaliseUrl } from '../context.js';
import { CliError } from '../errors.js';
import { ask, askHidden, readStdinSecret } from '../prompt.js';

const TOKEN_DAYS = 30;

export function registerAuthCommands(program: Command): void {
  program
    .command('login')
    .description(`sign in and keep a ${TOKEN_DAYS}-day API token in ${configPath().replace(os.homedir(), '~')} (mode 0600)`)
    .option('--url <url>', 'server URL (default: CAIRN_URL, the stored login, or http://localhost:8080)')
    .requiredOption('--username <name>', 'your username')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--totp <code>', 'the current code from your authenticator (asked for when needed otherwise)')
    .action(async (opts: { url?: string; username: string; passwordStdin?: boolean; totp?: string }) => {
      const stored = await readLogin().catch(() => undefined);
      const url = normaliseUrl(opts.url || process.env.CAIRN_URL || stored?.url || DEFAULT_URL);
      const client = anonymousClient(url);
      const password = opts.passwordStdin ? await readStdinSecret('password') : await askHidden('Password: ', 'password');
      const session = await signIn(client, opts.username, password, opts.totp);
      client.setToken(session.accessToken);
      const { scopes } = await client.auth.me();
      const created = await client.auth.tokens.create({ name: `cli@${os.hostname()}`, scopes, expiresInDays: TOKEN_DAYS });
      // The password session is no longer needed: the API token is what we keep.
      await client.auth.logout().catch(() => {});
      const file = await writeLogin({ url, token: created.secret, tokenId: created.token.id, username: session.user.username });
      process.stdout.write(`Signed in to ${url} as ${session.user.username}; token ${created.token.name} saved in ${file}\n`);
    });

  program
    .command('logout')
    .description('revoke the stored API token and forget the login')
    .action(async () => {
      const stored = await readLogin();
      if (!stored) {
        process.stdout.write('Not signed in\n');
        return;
      }
      let note = '';
      if (stored.tokenId) {
        const client = anonymousClient(stored.url);
        client.setToken(stored.token);
        try {
          await client.auth.tokens.revoke(stored.tokenId);
        } catch (e) {
          // Already revoked or expired, or the server is gone: forgetting it locally is still right.
          note = isCairnError(e) ? ` (the server could not revoke the token: ${e.message})` : '';
        }
      }
      await removeLogin();
      process.stdout.write(`Signed out of ${stored.url}${note}\n`);
    });
}

async function signIn(client: CairnClient, username: string, password: string, totp: string | undefined): Promise<LoginResponse> {
  try {
    return await client.auth.login({ username, password, ...(totp ? { totp } : {}) });
  } catch (e) {
    if (!isCairnError(e) || e.code !== 'totp_required' || totp) throw e;
  }
  const code = await ask('Authenticator code: ', 'authenticator code');
  if (!/^\d{6,8}$/.test(code)) throw new CliError('the authenticator code is 6 digits', 'totp_invalid');
  return client.auth.login({ username, password, totp: code });
}
