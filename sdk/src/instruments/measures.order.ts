/**
 * The order in which a form's measures are computed: each after the measures it reads.
 *
 * Definitions are stored as PostgreSQL jsonb, which keeps object keys shortest first, not in the
 * author's order; so "a measure may read the measures written before it" silently broke (a
 * measure read a later one as null, and the stored definition then failed validation). The
 * order comes from what each expression reads instead, ties kept in key order.
 */
import { hasOwn, isPlainObject } from './limits.js';

const PREFIX = '$measures';

/** The names among `names` an expression reads through `{"var": "$measures..."}` (all of them for `$measures` itself). */
export function measureReads(expr: unknown, names: readonly string[]): Set<string> {
  const out = new Set<string>();
  const stack: unknown[] = [expr];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (!isPlainObject(node)) continue;
    for (const [op, arg] of Object.entries(node)) {
      if (op === 'var') {
        const path = typeof arg === 'string' ? arg : Array.isArray(arg) && typeof arg[0] === 'string' ? arg[0] : undefined;
        if (path === PREFIX) names.forEach((n) => out.add(n));
        else if (path?.startsWith(`${PREFIX}.`)) {
          const name = path.slice(PREFIX.length + 1).split('.')[0]!;
          if (names.includes(name)) out.add(name);
        }
      }
      stack.push(arg);
    }
  }
  return out;
}

/**
 * `order`: every measure not in a cycle, each after what it reads (otherwise in key order);
 * `cyclic`: the measures that read themselves, directly or through others.
 */
export function measureOrder(measures: Record<string, unknown>): { order: string[]; cyclic: string[]; reads: Map<string, Set<string>> } {
  const names = Object.keys(measures);
  const reads = new Map<string, Set<string>>();
  for (const n of names) {
    const m = measures[n];
    reads.set(n, isPlainObject(m) && m.kind === 'computed' && hasOwn(m, 'expression') ? measureReads(m.expression, names) : new Set());
  }
  const placed = new Set<string>();
  const order: string[] = [];
  let progress = true;
  while (progress) {
    progress = false;
    for (const n of names) {
      if (placed.has(n) || [...reads.get(n)!].some((d) => !placed.has(d))) continue;
      placed.add(n);
      order.push(n);
      progress = true;
      break; // restart from the first name so ties stay in key order
    }
  }
  return { order, cyclic: names.filter((n) => !placed.has(n)), reads };
}
