/**
 * Limits on untrusted definitions and on evaluation. They are generous for real instruments
 * (the longest published scales have a few hundred items) and small enough that validating or
 * evaluating the worst definition that passes them stays in the millisecond range.
 */
export const LIMITS = {
  /** JSON values (objects, arrays, primitives) in one definition. */
  definitionNodes: 50_000,
  /** Nesting depth of the definition's JSON. */
  definitionDepth: 100,
  /** Characters in any single string of a definition. */
  stringLength: 10_000,
  /** Sum of all string lengths in a definition. */
  definitionChars: 2_000_000,
  /** Fields in a form, counting the sub-fields of repeated groups. */
  fields: 1_000,
  contentItems: 500,
  groupFields: 500,
  repeatedSubFields: 100,
  options: 500,
  likertItems: 200,
  measures: 200,
  languages: 20,
  seriesForms: 100,
  /** Operator nodes in one expression. */
  expressionNodes: 500,
  /** Operator nesting in one expression. */
  expressionDepth: 32,
  /** Evaluation steps for one evaluation of one expression. */
  evaluationSteps: 100_000,
  /** Length of any string or array an expression builds. */
  evaluationValueLength: 10_000,
  patternLength: 500,
  /** Upper bound for {n,m} in patterns, and instructions in a compiled pattern. */
  patternRepeat: 100,
  patternProgram: 5_000,
  /** Text answers without a declared maxLength are capped at this many characters. */
  defaultMaxTextLength: 10_000,
  maxTextLength: 100_000,
  /** Items of a repeated group without a declared maxItems are capped at this. */
  defaultMaxRepeatedItems: 100,
  maxRepeatedItems: 1_000,
  /** Errors reported at most, so a hostile input cannot make a huge error list. */
  errors: 200,
} as const;

/** RFC 6901 pointer segment escaping. */
export function escapePointer(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerOf(base: string, ...segments: Array<string | number>): string {
  return base + segments.map((s) => '/' + escapePointer(s)).join('');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
