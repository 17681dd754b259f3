import { CairnClient, isCairnError } from '@cairn/sdk';
import type { TFunction } from 'i18next';

/**
 * The web app's one client: same origin, cookie mode. The session lives in an httpOnly cookie
 * (never in localStorage, out of reach of injected scripts); writes carry the CSRF header, and a
 * stale access session is refreshed once, silently, by the SDK.
 */
export const api = new CairnClient({ baseUrl: '', credentials: 'include' });

/** The text to show for a failed call: our translation of the code when we have one, else the server's message. */
export function errorText(t: TFunction, e: unknown): string {
  if (isCairnError(e)) {
    if (e.code === 'network_error') return t('common.networkError');
    return t(`errors.${e.code}`, { defaultValue: e.message || t('common.unexpected') });
  }
  return t('common.unexpected');
}
