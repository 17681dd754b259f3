import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { RegistrationTypeDocument } from '@cairn/sdk';
import { checkExpression, validateRegistrationForm, type DefinitionError, type Shape } from '@cairn/sdk/instruments';
import { fail, isAppError } from '../kernel/errors.js';
import { sanitizeSvgTemplate } from '../certificates/index.js';
import { registrationTypeSchema } from './registration-types.schema.js';

// Compiled on first use: start-up stays fast for servers that never save a type.
let compiled: ValidateFunction | undefined;
const shapeValidator = () => (compiled ??= new Ajv2020({ allErrors: true, strict: false }).compile(registrationTypeSchema));
const CORE_FLAG_IDS = ['incomplete', 'rejected', 'correction-requested', 'potential-duplicate', 'printed', 'waiting-for-external-validation'];
const PATTERN_TOKEN = /\{(type|TYPE|year|office|seq:(\d{1,2}))\}/g;

function fieldsOf(doc: RegistrationTypeDocument) {
  return doc.form.pages.flatMap((p) => p.fields);
}

/**
 * Checks a type document: its shape against docs/registration-type.schema.json, then what a
 * schema cannot say. Throws invalid_registration_type with every problem as a JSON pointer.
 */
/**
 * `checks`: other modules' checks of the parts they interpret (RegistrationsService's
 * typeDocumentChecks), run on a document of the right shape; their problems are reported with the
 * others, in one answer.
 */
export function validateTypeDocument(body: unknown, expectId?: string, checks: ReadonlyArray<(doc: RegistrationTypeDocument) => DefinitionError[]> = []): RegistrationTypeDocument {
  const errors: DefinitionError[] = [];
  const validateShape = shapeValidator();
  if (!validateShape(body)) {
    for (const e of validateShape.errors ?? []) {
      errors.push({ pointer: e.instancePath || '', message: `${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}` });
      if (errors.length >= 50) break;
    }
    throw fail('invalid_registration_type', 'The registration type does not match its schema', { errors });
  }
  const doc = JSON.parse(JSON.stringify(body)) as RegistrationTypeDocument & { $schema?: string };
  delete doc.$schema;
  if (expectId !== undefined && doc.id !== expectId) errors.push({ pointer: '/id', message: `must be "${expectId}", the id in the URL` });
  const langs = doc.languages;
  for (const e of validateRegistrationForm(doc.form, langs)) errors.push({ pointer: `/form${e.pointer}`, message: e.message });
  const fields = new Map(fieldsOf(doc).map((f) => [f.name, f]));
  const dateField = fields.get(doc.eventDateField);
  if (!dateField || dateField.kind !== 'date') errors.push({ pointer: '/eventDateField', message: 'must name a date field of the form' });
  const locField = fields.get(doc.eventLocationField);
  if (!locField || locField.kind !== 'location') errors.push({ pointer: '/eventLocationField', message: 'must name a location field of the form' });
  (doc.requiredToDeclare ?? []).forEach((id, i) => {
    if (!fields.has(id)) errors.push({ pointer: `/requiredToDeclare/${i}`, message: `"${id}" is not a field of the form` });
  });
  const dataShape: Shape = nestShape([...fields.keys()]);
  const actionShape: Shape = { type: 'record', fields: { data: dataShape, status: { type: 'value' }, flags: { type: 'list', element: { type: 'value' } } } };
  for (const [name, a] of Object.entries(doc.actions ?? {})) if (a?.allowedWhen !== undefined) checkExpression(a.allowedWhen, actionShape, `/actions/${name}/allowedWhen`, errors);
  for (const [name, a] of Object.entries(doc.customActions ?? {})) {
    if (a.allowedWhen !== undefined) checkExpression(a.allowedWhen, actionShape, `/customActions/${name}/allowedWhen`, errors);
    if (a.fields?.length) {
      const page = { pages: [{ id: 'form', title: 'form', fields: a.fields }] };
      for (const e of validateRegistrationForm(page, langs)) errors.push({ pointer: `/customActions/${name}/fields${e.pointer.replace(/^\/pages\/0\/fields/, '')}`, message: e.message });
    }
  }
  const ruleShape: Shape = { type: 'record', fields: { data: dataShape, declaredAt: { type: 'value' }, eventDate: { type: 'value' }, daysSinceEvent: { type: 'value' } } };
  const flagIds = new Set<string>();
  (doc.flags ?? []).forEach((f, i) => {
    if (flagIds.has(f.id)) errors.push({ pointer: `/flags/${i}/id`, message: `"${f.id}" is defined twice` });
    if (CORE_FLAG_IDS.includes(f.id)) errors.push({ pointer: `/flags/${i}/id`, message: 'is a workflow flag' });
    flagIds.add(f.id);
    checkExpression(f.when, ruleShape, `/flags/${i}/when`, errors);
  });
  for (const [name, a] of Object.entries(doc.customActions ?? {})) {
    for (const key of ['addsFlags', 'removesFlags'] as const) {
      (a[key] ?? []).forEach((f, i) => {
        // Workflow flags move only with the workflow, and rule flags only with their rule, so the
        // stored state says which flag came from where.
        if (CORE_FLAG_IDS.includes(f) || flagIds.has(f)) errors.push({ pointer: `/customActions/${name}/${key}/${i}`, message: 'must not be a workflow flag or a rule flag' });
      });
    }
  }
  if (doc.registrationNumber) {
    const p = doc.registrationNumber.pattern;
    if (!/\{seq:\d{1,2}\}/.test(p)) errors.push({ pointer: '/registrationNumber/pattern', message: 'must contain {seq:N} so numbers are unique' });
    const rest = p.replace(PATTERN_TOKEN, '');
    if (/[{}]/.test(rest)) errors.push({ pointer: '/registrationNumber/pattern', message: 'only {type}, {TYPE}, {year}, {office} and {seq:N} are placeholders' });
    if (!/^[A-Za-z0-9/_.-]*$/.test(rest)) errors.push({ pointer: '/registrationNumber/pattern', message: 'literal parts may hold letters, digits and / _ . - only' });
  }
  const certIds = new Set<string>();
  (doc.certificates ?? []).forEach((c, i) => {
    if (certIds.has(c.id)) errors.push({ pointer: `/certificates/${i}/id`, message: `"${c.id}" is defined twice` });
    certIds.add(c.id);
    // The certificates module's sanitizer (an XML parser, not patterns): no scripts, handlers,
    // foreignObject, DOCTYPE or entities, external references or resource-loading CSS.
    try {
      sanitizeSvgTemplate(c.svg);
    } catch (e) {
      if (!isAppError(e)) throw e;
      errors.push({ pointer: `/certificates/${i}/svg`, message: e.message });
    }
  });
  const checkLocalised = (v: unknown, pointer: string) => {
    if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      if (keys.length !== langs.length || !langs.every((l) => keys.includes(l))) errors.push({ pointer, message: `must have a text in each of ${langs.join(', ')}` });
    }
  };
  checkLocalised(doc.label, '/label');
  (doc.flags ?? []).forEach((f, i) => checkLocalised(f.label, `/flags/${i}/label`));
  (doc.certificates ?? []).forEach((c, i) => checkLocalised(c.label, `/certificates/${i}/label`));
  for (const [name, a] of Object.entries(doc.customActions ?? {})) checkLocalised(a.label, `/customActions/${name}/label`);
  for (const check of checks) errors.push(...check(doc));
  if (errors.length) throw fail('invalid_registration_type', `The registration type has ${errors.length} problem${errors.length > 1 ? 's' : ''}`, { errors: errors.slice(0, 50) });
  return doc;
}

function nestShape(ids: string[]): Shape {
  const root: { type: 'record'; fields: Record<string, Shape> } = { type: 'record', fields: {} };
  for (const id of ids) {
    let cur = root;
    const parts = id.split('.');
    parts.forEach((p, i) => {
      if (i === parts.length - 1) cur.fields[p] ??= { type: 'value' };
      else {
        const next = cur.fields[p];
        if (!next || next.type !== 'record') cur.fields[p] = { type: 'record', fields: {} };
        cur = cur.fields[p] as typeof root;
      }
    });
  }
  return root;
}

/** A registration number from the type's pattern: `{TYPE}-{year}-{seq:6}` → `BIRTH-2026-000042`. */
export function formatNumber(pattern: string, v: { type: string; year: number; office: string; seq: number }): string {
  return pattern.replace(PATTERN_TOKEN, (_m, token: string, width?: string) => {
    if (token === 'type') return v.type;
    if (token === 'TYPE') return v.type.toUpperCase();
    if (token === 'year') return String(v.year);
    if (token === 'office') return v.office;
    return String(v.seq).padStart(Number(width), '0');
  });
}
