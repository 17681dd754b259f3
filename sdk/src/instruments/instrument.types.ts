/**
 * The instrument definition format. Definitions are plain JSON: they are stored, versioned and
 * exchanged as data, and nothing in them is ever executed as code. The JSON Schema for this format
 * lives in docs/instrument.schema.json; docs/instruments.md explains it with examples.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/** A user-facing string: either language-neutral, or one text per declared language. */
export type Localised = string | { readonly [language: string]: string };

/** A JSON Logic expression (see docs/instruments.md for the supported operators and limits). */
export type Expression = JsonValue;

export interface Option<V extends string | number> {
  value: V;
  label: Localised;
}

interface FieldCommon {
  /** Identifier, unique in its form (or in its repeated group): ^[A-Za-z][A-Za-z0-9_]*$. */
  name: string;
  label: Localised;
  description?: Localised;
  /** Defaults to false. A hidden field is never required. */
  required?: boolean;
  /** The field is shown (and its answer kept) only when this expression is truthy. */
  visibleWhen?: Expression;
}

export interface TextField extends FieldCommon {
  kind: 'text';
  /** Defaults to 'input'. 'select' and 'radio' need `options`; the others refuse them. */
  variant?: 'input' | 'textarea' | 'select' | 'radio';
  minLength?: number;
  maxLength?: number;
  /** Must match the whole value; a safe subset of regular expressions (see docs). */
  pattern?: string;
  options?: Option<string>[];
  placeholder?: Localised;
}

export interface NumberField extends FieldCommon {
  kind: 'number';
  /** Defaults to 'input'. 'slider' needs `min` and `max`; 'select' and 'radio' need `options`. */
  variant?: 'input' | 'slider' | 'select' | 'radio';
  integer?: boolean;
  min?: number;
  max?: number;
  /** A hint for the renderer's controls; not enforced on submission. */
  step?: number;
  options?: Option<number>[];
}

export interface BooleanField extends FieldCommon {
  kind: 'boolean';
  /** Defaults to 'checkbox'. */
  variant?: 'checkbox' | 'radio';
  /** The only acceptable answer is `true` (consent boxes). */
  mustBeTrue?: boolean;
  trueLabel?: Localised;
  falseLabel?: Localised;
}

/** Answers are calendar dates `YYYY-MM-DD`; bounds are dates or the word `today`. */
export interface DateField extends FieldCommon {
  kind: 'date';
  min?: string;
  max?: string;
}

/** Answers are arrays of distinct option values. */
export interface MultiSelectField extends FieldCommon {
  kind: 'multiselect';
  options: Option<string>[];
  minItems?: number;
  maxItems?: number;
}

export type ScalarField = TextField | NumberField | BooleanField | DateField | MultiSelectField;

/** Answers are arrays of sub-records, each validated against `fields`. */
export interface RepeatedField extends FieldCommon {
  kind: 'repeated';
  fields: ScalarField[];
  minItems?: number;
  maxItems?: number;
  /** Shown above each item, e.g. "Child". */
  itemLabel?: Localised;
}

export interface LikertItem {
  /** Identifier, unique in the grid. */
  key: string;
  label: Localised;
}

/** Answers are objects `{ itemKey: optionValue }`. A required grid needs every item answered. */
export interface LikertField extends FieldCommon {
  kind: 'likert';
  items: LikertItem[];
  options: Option<number>[];
}

export type Field = ScalarField | RepeatedField | LikertField;
export type FieldKind = Field['kind'];

export interface Group {
  kind: 'group';
  title: Localised;
  description?: Localised;
  visibleWhen?: Expression;
  fields: Field[];
}

export type ContentItem = Field | Group;

export interface RefMeasure {
  kind: 'ref';
  label: Localised;
  /** A field name, or `grid.itemKey` for one item of a likert grid. */
  field: string;
}

export interface ComputedMeasure {
  kind: 'computed';
  label: Localised;
  /** Sees every answer, and earlier measures as `$measures.name`. */
  expression: Expression;
}

export type Measure = RefMeasure | ComputedMeasure;

export interface InstrumentDetails {
  title: Localised;
  description?: Localised;
  /** Instructions shown to the respondent before the content. */
  instructions?: Localised;
  /** An SPDX license identifier or expression, e.g. `CC-BY-4.0` or `LicenseRef-x`. */
  license: string;
  authors?: string[];
  /** Citations or URLs. */
  references?: string[];
}

interface InstrumentCommon {
  /** A slug: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 64 characters. */
  name: string;
  /** A positive integer; a new edition is a new definition, old records keep theirs. */
  edition: number;
  /** Language codes such as `en` or `fr-CA`; every localised map must have exactly these. */
  languages: string[];
  details: InstrumentDetails;
}

export interface FormInstrument extends InstrumentCommon {
  kind: 'form';
  content: ContentItem[];
  measures?: Record<string, Measure>;
}

export interface SeriesEntry {
  name: string;
  edition: number;
}

export interface SeriesInstrument extends InstrumentCommon {
  kind: 'series';
  /** The forms, in the order they are administered. */
  content: SeriesEntry[];
}

export type InstrumentDefinition = FormInstrument | SeriesInstrument;

export interface DefinitionError {
  /** RFC 6901 JSON pointer into the definition. */
  pointer: string;
  message: string;
}

export type DefinitionResult<D extends InstrumentDefinition = InstrumentDefinition> =
  | { ok: true; definition: D }
  | { ok: false; errors: DefinitionError[] };

/** Stable codes so renderers can show their own translated messages. */
export type SubmissionErrorCode =
  | 'not_an_object'
  | 'unknown_field'
  | 'required'
  | 'wrong_type'
  | 'not_an_option'
  | 'duplicate'
  | 'too_short'
  | 'too_long'
  | 'pattern'
  | 'too_small'
  | 'too_large'
  | 'not_integer'
  | 'invalid_date'
  | 'too_few'
  | 'too_many'
  | 'must_be_true'
  | 'condition_failed'
  | 'not_a_form';

export interface SubmissionError {
  /** Dotted path of the field: `age`, `children.0.name`, `phq.q9`; empty for the whole submission. */
  field: string;
  /** RFC 6901 JSON pointer into the submitted answers. */
  pointer: string;
  code: SubmissionErrorCode;
  message: string;
}

export type MeasureValue = string | number | boolean | null;

export type SubmissionResult =
  | { ok: true; data: Record<string, JsonValue>; measures: Record<string, MeasureValue> }
  | { ok: false; errors: SubmissionError[] };

// --- field kinds for civil registration (docs/registrations.md) ------------------------------
// Registration forms are the same engine with more kinds; an instrument definition does not use
// them (the instrument validator refuses them), a registration type's form does. Registration
// field names are dotted ids such as `child.firstName`; answers are a flat map keyed by them.

/** A person's given or family name: letters of any script, spaces, apostrophes, hyphens and dots. */
export interface PersonNameField extends FieldCommon {
  kind: 'personName';
  maxLength?: number;
}

/**
 * A date that may be given as an age instead (people who do not know their date of birth):
 * answers are `YYYY-MM-DD` or, when `ageInsteadOfDate` is set, `{ "age": years }`.
 */
export interface RegistrationDateField extends FieldCommon {
  kind: 'date';
  min?: string;
  max?: string;
  ageInsteadOfDate?: boolean;
}

/** Check digit algorithms a national ID may carry. */
export type CheckDigit = 'none' | 'luhn' | 'verhoeff' | 'mod11';

/** A national identity number. Defaults: exactly 10 digits, no check digit. */
export interface NationalIdField extends FieldCommon {
  kind: 'nationalId';
  /** Safe regular expression that must match the whole value; defaults to `[0-9]{10}`. */
  pattern?: string;
  checkDigit?: CheckDigit;
}

/** A phone number; defaults to `\+?[0-9]{6,15}` after removing spaces, dashes and parentheses. */
export interface PhoneField extends FieldCommon {
  kind: 'phone';
  pattern?: string;
}

export interface EmailField extends FieldCommon {
  kind: 'email';
}

/** Answers are `{ line1?, line2?, city?, postcode?, locationId? }`, every part a string. */
export interface AddressField extends FieldCommon {
  kind: 'address';
}

/** Answers are the id of a workspace of the administrative tree (an area or an office). */
export interface LocationField extends FieldCommon {
  kind: 'location';
  /** Which workspaces may be picked; defaults to either. */
  locationKind?: 'area' | 'office' | 'any';
}

/** A supporting document uploaded to POST /api/v1/registrations/documents. */
export interface DocumentRef {
  /** The SHA-256 of the content, as the upload answered it. */
  documentId: string;
  mediaType: string;
  size: number;
  name?: string;
  /** One of the field's `documentTypes` values, e.g. `birth-certificate`. */
  documentType?: string;
}

/** Answers are arrays of DocumentRef. */
export interface DocumentsField extends FieldCommon {
  kind: 'documents';
  /** Defaults to image/png, image/jpeg and application/pdf. */
  accept?: string[];
  /** Per file; defaults to 5 MiB (the upload endpoint's own limit is 10 MiB). */
  maxBytes?: number;
  maxItems?: number;
  documentTypes?: Option<string>[];
}

/** Answers are one DocumentRef of an image (a drawn signature, PNG). */
export interface SignatureField extends FieldCommon {
  kind: 'signature';
}

export type RegistrationOnlyField = PersonNameField | NationalIdField | PhoneField | EmailField | AddressField | LocationField | DocumentsField | SignatureField;
/** Any field a registration form may hold. */
export type RegistrationField = Exclude<ScalarField, DateField> | RegistrationDateField | RegistrationOnlyField;
export type RegistrationFieldKind = RegistrationField['kind'];

/** A page of a registration form (rendered one page at a time, then a review page). */
export interface RegistrationFormPage {
  /** Identifier of the page, e.g. `child`. */
  id: string;
  title: Localised;
  description?: Localised;
  /** The page (and its answers) exists only when this is truthy. */
  visibleWhen?: Expression;
  fields: RegistrationField[];
}

/** A value computed from the answers (e.g. `mother.ageAtBirth`), shown and stored beside them. */
export interface DerivedValue {
  label: Localised;
  /** Sees the answers nested, `$today`, and `$days.<date field>` (days since 1970-01-01). */
  expression: Expression;
  /** Round the number down (ages in whole years). */
  round?: 'floor';
}
