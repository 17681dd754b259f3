import type { JsonValue, Localised, RegistrationField, RegistrationTypeDocument, Workqueue, RegistrationFormPage } from '@cairn/sdk';
import { evaluate, localise, nestAnswers, truthy, validateRegistrationData, ExpressionError } from '@cairn/sdk/instruments';
import { api } from '../../api.js';

/** The registration clients, sharing the web app's transport (cookie session, CSRF, silent refresh). */
export const registrations = api.registrations;
export const registrationTypes = api.registrationTypes;

export type Answers = Record<string, JsonValue>;

/**
 * Workqueues in the order the side list shows them. Each is a saved query the server answers
 * (`GET /registrations?queue=`), with its count from `GET /registrations/workqueues`.
 */
export const QUEUES: Workqueue[] = ['assigned-to-me', 'in-progress', 'ready-for-review', 'requires-updates', 'potential-duplicates', 'waiting-for-external-validation', 'ready-to-print'];

function shown(expr: unknown, scope: Record<string, JsonValue>): boolean {
  if (expr === undefined) return true;
  try {
    return truthy(evaluate(expr as JsonValue, scope));
  } catch (e) {
    // As the server does: a condition that cannot be evaluated hides its field.
    if (e instanceof ExpressionError) return false;
    throw e;
  }
}

/**
 * The pages and fields shown for these answers, by the engine's own rule (the one the server
 * applies): in page order, a condition sees the earlier visible, well-formed answers and `$today`.
 * Also answers the engine's checks (`errors`, and `missing` for required fields left empty).
 */
export function checkForm(doc: RegistrationTypeDocument, data: Answers) {
  const today = new Date().toISOString().slice(0, 10);
  const result = validateRegistrationData(doc.form, data, { today });
  const seen: Answers = {};
  const pages: { page: RegistrationFormPage; fields: RegistrationField[] }[] = [];
  for (const page of doc.form.pages) {
    if (!shown(page.visibleWhen, { ...nestAnswers(seen), $today: today })) continue;
    const fields: RegistrationField[] = [];
    for (const f of page.fields) {
      if (!shown(f.visibleWhen, { ...nestAnswers(seen), $today: today })) continue;
      fields.push(f);
      if (Object.hasOwn(result.data, f.name)) seen[f.name] = result.data[f.name]!;
    }
    pages.push({ page, fields });
  }
  return { pages, errors: result.errors, missing: result.missing, data: result.data, derived: result.derived };
}

export function visiblePages(doc: RegistrationTypeDocument, data: Answers) {
  return checkForm(doc, data).pages;
}

/** Answers of fields that are no longer shown are dropped before sending, as the server would refuse them. */
export function keepVisible(doc: RegistrationTypeDocument, data: Answers): Answers {
  const ids = new Set(visiblePages(doc, data).flatMap((p) => p.fields.map((f) => f.name)));
  return Object.fromEntries(Object.entries(data).filter(([k]) => ids.has(k)));
}

export function fieldsById(doc: RegistrationTypeDocument): Map<string, RegistrationField> {
  return new Map(doc.form.pages.flatMap((p) => p.fields.map((f) => [f.name, f] as const)));
}

/** Localises a type's text in the reader's language (falling back to the type's first language). */
export function typeText(doc: { languages: string[] }, s: Localised | undefined, language: string): string {
  return localise(s, language, doc.languages);
}

/** A short name for a registration in lists: the person's names when the form has them. */
export function personName(data: Record<string, JsonValue>): string {
  const pick = (prefix: string) => [data[`${prefix}.firstName`], data[`${prefix}.lastName`]].filter((x) => typeof x === 'string' && x).join(' ');
  return pick('child') || pick('deceased') || pick('groom') || pick('person') || '';
}

/** Flags worth a warning colour: they stop or delay the workflow. */
export const WARN_FLAGS = new Set(['rejected', 'potential-duplicate', 'correction-requested', 'incomplete', 'waiting-for-external-validation', 'late-registration']);

/** Location ids an answer set refers to (location fields and addresses), to show them by name. */
export function locationIds(doc: RegistrationTypeDocument, data: Answers): string[] {
  const out: string[] = [];
  for (const f of doc.form.pages.flatMap((p) => p.fields)) {
    const v = data[f.name];
    if (f.kind === 'location' && typeof v === 'string') out.push(v);
    if (f.kind === 'address' && v && typeof v === 'object' && !Array.isArray(v) && typeof v.locationId === 'string') out.push(v.locationId);
  }
  return out;
}
