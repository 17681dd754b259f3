import type { Field, FormInstrument, ScalarField } from '@cairn/sdk/instruments';

/**
 * How a form's answers become flat columns (exports, import templates) and back. One column per
 * single-valued field, one per likert item (`grid.item`), multiselects joined with `;`, repeated
 * groups as JSON text. Measures come after the fields as `measure:name` (a colon cannot occur in
 * a field name, so the two never collide).
 */
export type ColumnType = 'text' | 'number' | 'boolean' | 'date' | 'multiselect' | 'likert' | 'repeated' | 'measure';

export interface Column {
  header: string;
  type: ColumnType;
  /** Top-level answer key. */
  field: string;
  /** Likert item key. */
  item?: string;
  /** The field, when the column holds a field's answer (for typed import). */
  def?: Field;
  measure?: string;
}

export function topLevelFields(form: FormInstrument): Field[] {
  const out: Field[] = [];
  for (const c of form.content) {
    if (c.kind === 'group') out.push(...c.fields);
    else out.push(c);
  }
  return out;
}

export function fieldColumns(form: FormInstrument): Column[] {
  const cols: Column[] = [];
  for (const f of topLevelFields(form)) {
    if (f.kind === 'likert') for (const item of f.items) cols.push({ header: `${f.name}.${item.key}`, type: 'likert', field: f.name, item: item.key, def: f });
    else cols.push({ header: f.name, type: f.kind, field: f.name, def: f });
  }
  return cols;
}

export function measureColumns(form: FormInstrument): Column[] {
  return Object.keys(form.measures ?? {}).map((m) => ({ header: `measure:${m}`, type: 'measure' as const, field: m, measure: m }));
}

/** Columns of several editions of one instrument, newest first, each header once. */
export function unionColumns(forms: FormInstrument[], withMeasures: boolean): Column[] {
  const seen = new Set<string>();
  const fields: Column[] = [];
  const measures: Column[] = [];
  for (const f of forms) {
    for (const c of fieldColumns(f)) if (!seen.has(c.header)) (seen.add(c.header), fields.push(c));
    if (withMeasures) for (const c of measureColumns(f)) if (!seen.has(c.header)) (seen.add(c.header), measures.push(c));
  }
  return [...fields, ...measures];
}

export type CellResult = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE = new Set(['true', '1', 'yes', 'y', 'oui', 'vrai']);
const FALSE = new Set(['false', '0', 'no', 'n', 'non', 'faux']);

/**
 * A CSV cell to the typed answer the submission validator expects. An empty cell is "no answer"
 * (the validator decides whether that is allowed). Values the cell cannot express are refused
 * here; everything about the answer itself (ranges, options, patterns) is left to the validator.
 */
export function cellToAnswer(def: Field | ScalarField, cell: string): CellResult {
  const s = cell.trim();
  switch (def.kind) {
    case 'text':
      return { ok: true, value: cell === '' ? '' : cell };
    case 'number': {
      if (s === '') return { ok: true, value: '' };
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return { ok: false, message: `"${s.slice(0, 40)}" is not a number` };
      const n = Number(s);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: 'number out of range' };
    }
    case 'boolean': {
      if (s === '') return { ok: true, value: '' };
      const l = s.toLowerCase();
      if (TRUE.has(l)) return { ok: true, value: true };
      if (FALSE.has(l)) return { ok: true, value: false };
      return { ok: false, message: `"${s.slice(0, 40)}" is not true or false` };
    }
    case 'date':
      return { ok: true, value: s };
    case 'multiselect':
      return { ok: true, value: s === '' ? [] : s.split(';').map((x) => x.trim()).filter((x) => x !== '') };
    case 'repeated': {
      if (s === '') return { ok: true, value: [] };
      try {
        return { ok: true, value: JSON.parse(s) };
      } catch {
        return { ok: false, message: 'a repeated group is written as a JSON array of objects' };
      }
    }
    case 'likert': {
      if (s === '') return { ok: true, value: null };
      const n = Number(s);
      return /^[+-]?\d+(\.\d+)?$/.test(s) && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: `"${s.slice(0, 40)}" is not a number` };
    }
  }
}

/** An answer to its cell text (the inverse of cellToAnswer, used by exports built in JS). */
export function answerToCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? v.join(';') : JSON.stringify(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
