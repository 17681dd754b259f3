import type { Localised } from './instrument.types.js';
import { hasOwn } from './limits.js';

/**
 * The text to show for `lang`: the exact language, then its base language (`fr` for `fr-CA`),
 * then each fallback in order, then any translation at all, so a renderer never shows nothing.
 */
export function localise(text: Localised | undefined, lang: string, fallback?: string | readonly string[]): string {
  if (text === undefined) return '';
  if (typeof text === 'string') return text;
  const base = lang.split('-')[0]!;
  const fallbacks = fallback === undefined ? [] : typeof fallback === 'string' ? [fallback] : fallback;
  for (const candidate of [lang, base, ...fallbacks]) {
    if (hasOwn(text, candidate) && typeof text[candidate] === 'string') return text[candidate]!;
  }
  for (const value of Object.values(text)) if (typeof value === 'string') return value;
  return '';
}
