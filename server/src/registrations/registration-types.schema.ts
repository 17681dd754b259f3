/**
 * The JSON Schema of a registration type document. docs/registration-type.schema.json is this
 * object written out (a test keeps them equal). The schema checks the document's shape; the
 * rules that cross fields (an event date field that exists and is a date, expressions naming
 * known fields, safe patterns, safe SVG) are checked by registration-types.validator.ts.
 */
const localised = { $ref: '#/$defs/localised' };
const expression = { description: 'A JSON Logic expression (docs/instruments.md)' };
const slug = { type: 'string', pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$', maxLength: 64 };
const role = { enum: ['field-agent', 'registration-agent', 'local-registrar', 'national-registrar'] };
const actionConfig = {
  type: 'object',
  additionalProperties: false,
  properties: { roles: { type: 'array', items: role, uniqueItems: true }, allowedWhen: expression, label: localised },
};
const statuses = { enum: ['created', 'notified', 'declared', 'validated', 'registered'] };
const fee = { type: 'object', additionalProperties: false, required: ['amount', 'currency'], properties: { amount: { type: 'number', minimum: 0 }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } } };
const hook = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: { url: { type: 'string', pattern: '^https?://', maxLength: 2000 }, timeoutMs: { type: 'integer', minimum: 100, maximum: 30000 } },
};
const field = {
  type: 'object',
  required: ['kind', 'name', 'label'],
  properties: {
    kind: { enum: ['text', 'number', 'boolean', 'date', 'multiselect', 'personName', 'nationalId', 'phone', 'email', 'address', 'location', 'documents', 'signature'] },
    name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*){0,3}$' },
    label: localised,
    description: localised,
    required: { type: 'boolean' },
    visibleWhen: expression,
  },
};
const CORE_ACTIONS = ['notify', 'declare', 'validate', 'register', 'reject', 'archive', 'print-certificate', 'request-correction', 'approve-correction', 'reject-correction', 'assign', 'unassign', 'duplicate-detected', 'mark-not-duplicate', 'mark-as-duplicate'];

export const registrationTypeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://cairn.example/schemas/registration-type.schema.json',
  title: 'Cairn registration type',
  description: 'A civil registration type (birth, death, marriage...): its form, actions, flags, hooks, numbering and certificates. See docs/registrations.md.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'label', 'languages', 'form', 'eventDateField', 'eventLocationField'],
  properties: {
    $schema: { type: 'string' },
    id: slug,
    label: localised,
    languages: { type: 'array', minItems: 1, maxItems: 10, uniqueItems: true, items: { type: 'string', pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' } },
    form: {
      type: 'object',
      additionalProperties: false,
      required: ['pages'],
      properties: {
        pages: {
          type: 'array',
          minItems: 1,
          maxItems: 50,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'title', 'fields'],
            properties: { id: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,63}$' }, title: localised, description: localised, visibleWhen: expression, fields: { type: 'array', maxItems: 200, items: field } },
          },
        },
        derived: {
          type: 'object',
          additionalProperties: { type: 'object', additionalProperties: false, required: ['label', 'expression'], properties: { label: localised, expression, round: { const: 'floor' } } },
        },
      },
    },
    eventDateField: { type: 'string', maxLength: 200 },
    eventLocationField: { type: 'string', maxLength: 200 },
    requiredToDeclare: { type: 'array', items: { type: 'string' }, uniqueItems: true, maxItems: 500 },
    actions: { type: 'object', additionalProperties: false, properties: Object.fromEntries(CORE_ACTIONS.map((a) => [a, actionConfig])) },
    customActions: {
      type: 'object',
      maxProperties: 50,
      propertyNames: { pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$', maxLength: 64, not: { enum: [...CORE_ACTIONS, 'read'] } },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['label'],
        properties: {
          ...actionConfig.properties,
          statuses: { type: 'array', items: statuses, uniqueItems: true, minItems: 1 },
          fields: { type: 'array', maxItems: 50, items: field },
          addsFlags: { type: 'array', items: slug, uniqueItems: true },
          removesFlags: { type: 'array', items: slug, uniqueItems: true },
        },
      },
    },
    flags: {
      type: 'array',
      maxItems: 50,
      items: { type: 'object', additionalProperties: false, required: ['id', 'label', 'when'], properties: { id: slug, label: localised, when: expression } },
    },
    hooks: { type: 'object', additionalProperties: false, properties: Object.fromEntries(['notify', 'declare', 'register', 'reject', 'archive', 'print-certificate'].map((a) => [a, hook])) },
    registrationNumber: { type: 'object', additionalProperties: false, required: ['pattern'], properties: { pattern: { type: 'string', minLength: 1, maxLength: 100 } } },
    certificates: {
      type: 'array',
      maxItems: 10,
      items: { type: 'object', additionalProperties: false, required: ['id', 'label', 'svg'], properties: { id: slug, label: localised, svg: { type: 'string', maxLength: 2_000_000 }, fee } },
    },
    printFee: fee,
    deduplication: { description: 'De-duplication rules, interpreted by the search module (docs/search.md)' },
  },
  $defs: {
    localised: {
      description: 'A text, or one text per language of the type',
      oneOf: [{ type: 'string', minLength: 1, maxLength: 2000 }, { type: 'object', minProperties: 1, additionalProperties: { type: 'string', minLength: 1, maxLength: 2000 } }],
    },
  },
} as const;
