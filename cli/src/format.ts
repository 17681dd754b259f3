import type { LedgerEntry } from '@cairn/sdk';

/** A plain aligned table; the last column is cut to fit the terminal. */
export function table(headers: string[], rows: string[][], width = process.stdout.columns || 120): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const last = widths.length - 1;
  const fixed = widths.slice(0, last).reduce((a, b) => a + b + 2, 0);
  widths[last] = Math.max(headers[last]!.length, Math.min(widths[last]!, width - fixed));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === last ? truncate(c, widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}

export function truncate(s: string, n: number): string {
  if (s.length <= n) return s;
  return n <= 1 ? s.slice(0, n) : `${s.slice(0, n - 1)}…`;
}

/** `2025-11-22T05:14:37.123Z` → `2025-11-22 05:14:37` (UTC, as stored). */
export const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

export const actorLabel = (e: LedgerEntry) => (e.actor.id ? `${e.actor.kind}:${e.actor.id.slice(0, 8)}` : e.actor.kind);

export function entryRows(entries: LedgerEntry[]): string[][] {
  return entries.map((e) => [String(e.position), shortTime(e.recordedAt), e.type, e.stream ?? '-', actorLabel(e), JSON.stringify(e.data)]);
}

export const ENTRY_HEADERS = ['POSITION', 'RECORDED (UTC)', 'TYPE', 'STREAM', 'ACTOR', 'DATA'];

/** One line per entry for `events tail`. */
export function entryLine(e: LedgerEntry, width = process.stdout.columns || 120): string {
  const head = `${shortTime(e.recordedAt)}  #${e.position}  ${e.type}  ${e.stream ?? '-'}  ${actorLabel(e)}  `;
  return head + truncate(JSON.stringify(e.data), Math.max(20, width - head.length));
}
