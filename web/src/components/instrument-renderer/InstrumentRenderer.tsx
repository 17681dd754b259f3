import { useId, useMemo, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { localise, visibleFields, type Field, type FormInstrument, type Localised, type ScalarField, type SubmissionError } from '@cairn/sdk/instruments';

export type Answers = Record<string, unknown>;

interface Props {
  form: FormInstrument;
  language: string;
  answers: Answers;
  onChange?: (answers: Answers) => void;
  errors?: SubmissionError[];
  readOnly?: boolean;
}

/**
 * Renders a form definition. Everything from the definition is inserted as text (React escapes
 * it): labels are data, never markup. Visibility comes from the engine's own `visibleFields`, so
 * the screen shows exactly the questions the server will accept answers for; patterns are
 * checked by the engine's linear-time matcher, never by the browser's `pattern` attribute.
 */
export function InstrumentRenderer({ form, language, answers, onChange, errors = [], readOnly }: Props) {
  const { t } = useTranslation();
  const visible = useMemo(() => new Set(visibleFields(form, answers)), [form, answers]);
  const errorsByField = useMemo(() => {
    const m = new Map<string, SubmissionError[]>();
    for (const e of errors) m.set(e.field, [...(m.get(e.field) ?? []), e]);
    return m;
  }, [errors]);
  const L = (s: Localised | undefined) => localise(s, language, form.languages);
  const set = (name: string, value: unknown) => {
    if (!onChange) return;
    const next = { ...answers };
    if (value === undefined) delete next[name];
    else next[name] = value;
    onChange(next);
  };
  const ctx: Ctx = { L, t, errorsByField, readOnly: !!readOnly, visible };

  return (
    <div className="instrument" lang={language}>
      {form.details.instructions && <p className="instrument-instructions">{L(form.details.instructions)}</p>}
      {errorsByField.get('')?.map((e, i) => (
        <p key={i} className="field-error">
          {validationMessage(t, e)}
        </p>
      ))}
      {form.content.map((item, i) => {
        if (item.kind === 'group') {
          const shown = item.fields.filter((f) => visible.has(f.name));
          if (!shown.length) return null;
          return (
            <fieldset key={i} className="instrument-group">
              <legend>{L(item.title)}</legend>
              {item.description && <p className="field-hint">{L(item.description)}</p>}
              {shown.map((f) => (
                <FieldView key={f.name} field={f} path={f.name} value={answers[f.name]} onChange={(v) => set(f.name, v)} ctx={ctx} answers={answers} />
              ))}
            </fieldset>
          );
        }
        if (!visible.has(item.name)) return null;
        return <FieldView key={item.name} field={item} path={item.name} value={answers[item.name]} onChange={(v) => set(item.name, v)} ctx={ctx} answers={answers} />;
      })}
    </div>
  );
}

/** What a field view needs from its form; registration forms build one too (RegistrationForm). */
export interface Ctx {
  L: (s: Localised | undefined) => string;
  t: ReturnType<typeof useTranslation>['t'];
  errorsByField: Map<string, SubmissionError[]>;
  readOnly: boolean;
  visible: Set<string>;
}

export function FieldShell({ id, label, required, description, errors, children, legend, ctx }: { id: string; label: string; required?: boolean; description?: string; errors: SubmissionError[]; children: ReactNode; legend?: boolean; ctx: Ctx }) {
  const hint = description ? <p className="field-hint" id={`${id}-hint`}>{description}</p> : null;
  const errs = errors.map((e, i) => (
    <p key={i} className="field-error" id={i === 0 ? `${id}-error` : undefined}>
      {validationMessage(ctx.t, e)}
    </p>
  ));
  const mark = required ? <span className="required-mark" title={ctx.t('datahub.renderer.required')}> *</span> : null;
  if (legend) {
    return (
      <fieldset className={`field instrument-field${errors.length ? ' has-error' : ''}`} aria-describedby={description ? `${id}-hint` : undefined} data-field={id}>
        <legend>
          {label}
          {mark}
        </legend>
        {hint}
        {children}
        {errs}
      </fieldset>
    );
  }
  return (
    <div className={`field instrument-field${errors.length ? ' has-error' : ''}`} data-field={id}>
      <label htmlFor={id}>
        {label}
        {mark}
      </label>
      {hint}
      {children}
      {errs}
    </div>
  );
}

/**
 * What every field view starts from: a unique id (`prefix`-…), the field's errors at `path`, the
 * attributes its control carries (`common`: id, disabled, aria-invalid, aria-describedby, as
 * `describedBy`), its label and description in the form's language, and `shell`, which wraps a
 * control in FieldShell (a fieldset with a legend when `legend`).
 */
export function useFieldFrame(prefix: string, field: { label: Localised; description?: Localised; required?: boolean }, path: string, ctx: Ctx) {
  const uid = useId();
  const id = `${prefix}-${uid}`;
  const errors = ctx.errorsByField.get(path) ?? [];
  const describedBy = [field.description ? `${id}-hint` : '', errors.length ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, disabled: ctx.readOnly, 'aria-invalid': errors.length ? true : undefined, 'aria-describedby': describedBy };
  const label = ctx.L(field.label);
  const description = field.description ? ctx.L(field.description) : undefined;
  const shell = (children: ReactNode, legend = false) => (
    <FieldShell id={id} label={label} required={field.required} description={description} errors={errors} legend={legend} ctx={ctx}>
      {children}
    </FieldShell>
  );
  return { id, errors, describedBy, common, label, description, shell };
}

/** A submission error in the reader's language: the engine's codes, then the registration kinds' codes, then the server's text. */
export function validationMessage(t: Ctx['t'], e: SubmissionError): string {
  return t(`datahub.validation.${e.code}`, { defaultValue: t(`registrations.validation.${e.code}`, { defaultValue: e.message }) });
}

const toNumber = (raw: string): unknown => (raw === '' ? undefined : Number.isFinite(Number(raw)) ? Number(raw) : raw);

/** One field of a form; registration forms reuse it for the kinds they share with instruments. */
export function FieldView({ field, path, value, onChange, ctx, answers }: { field: Field; path: string; value: unknown; onChange: (v: unknown) => void; ctx: Ctx; answers: Answers }) {
  const { id, errors, common, label, description, shell } = useFieldFrame('f', field, path, ctx);

  switch (field.kind) {
    case 'text': {
      const v = typeof value === 'string' ? value : '';
      if (field.variant === 'select')
        return shell(
          <select {...common} value={v} onChange={(e) => onChange(e.target.value || undefined)}>
            <option value="">{ctx.t('datahub.renderer.choose')}</option>
            {field.options!.map((o) => (
              <option key={o.value} value={o.value}>
                {ctx.L(o.label)}
              </option>
            ))}
          </select>,
        );
      if (field.variant === 'radio') return shell(<Radios name={id} options={field.options!.map((o) => ({ key: o.value, value: o.value, label: ctx.L(o.label) }))} value={value} onChange={onChange} ctx={ctx} />, true);
      if (field.variant === 'textarea') return shell(<textarea {...common} rows={4} value={v} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />);
      return shell(<input {...common} type="text" value={v} placeholder={field.placeholder ? ctx.L(field.placeholder) : undefined} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />);
    }
    case 'number': {
      const v = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
      if (field.variant === 'select')
        return shell(
          <select {...common} value={v} onChange={(e) => onChange(toNumber(e.target.value))}>
            <option value="">{ctx.t('datahub.renderer.choose')}</option>
            {field.options!.map((o) => (
              <option key={o.value} value={String(o.value)}>
                {ctx.L(o.label)}
              </option>
            ))}
          </select>,
        );
      if (field.variant === 'radio') return shell(<Radios name={id} options={field.options!.map((o) => ({ key: String(o.value), value: o.value, label: ctx.L(o.label) }))} value={value} onChange={onChange} ctx={ctx} />, true);
      if (field.variant === 'slider')
        return shell(
          <div className="row">
            <input {...common} type="range" min={field.min} max={field.max} step={field.step ?? (field.integer ? 1 : 'any')} value={v === '' ? String(field.min) : v} onChange={(e) => onChange(Number(e.target.value))} />
            <output htmlFor={id}>{v === '' ? '—' : v}</output>
          </div>,
        );
      return shell(<input {...common} type="number" inputMode={field.integer ? 'numeric' : 'decimal'} min={field.min} max={field.max} step={field.step ?? (field.integer ? 1 : 'any')} value={v} onChange={(e) => onChange(toNumber(e.target.value))} />);
    }
    case 'boolean': {
      if (field.variant === 'radio')
        return shell(
          <Radios
            name={id}
            options={[
              { key: 'true', value: true, label: field.trueLabel ? ctx.L(field.trueLabel) : ctx.t('datahub.renderer.yes') },
              { key: 'false', value: false, label: field.falseLabel ? ctx.L(field.falseLabel) : ctx.t('datahub.renderer.no') },
            ]}
            value={value}
            onChange={onChange}
            ctx={ctx}
          />,
          true,
        );
      return (
        <div className={`field instrument-field${errors.length ? ' has-error' : ''}`} data-field={id}>
          <label className="check">
            <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked ? true : field.mustBeTrue ? undefined : false)} />
            {label}
            {field.required && <span className="required-mark"> *</span>}
          </label>
          {description && <p className="field-hint" id={`${id}-hint`}>{description}</p>}
          {errors.map((e, i) => (
            <p key={i} className="field-error" id={i === 0 ? `${id}-error` : undefined}>
              {validationMessage(ctx.t, e)}
            </p>
          ))}
        </div>
      );
    }
    case 'date': {
      const today = new Date().toISOString().slice(0, 10);
      const bound = (b?: string) => (b === 'today' ? today : b);
      return shell(<input {...common} type="date" min={bound(field.min)} max={bound(field.max)} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value || undefined)} />);
    }
    case 'multiselect': {
      const chosen = new Set(Array.isArray(value) ? (value as string[]) : []);
      return shell(
        <div className="checks">
          {field.options.map((o) => (
            <label key={o.value} className="check">
              <input
                type="checkbox"
                disabled={ctx.readOnly}
                checked={chosen.has(o.value)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  if (e.target.checked) next.add(o.value);
                  else next.delete(o.value);
                  // Stored in option order, as the engine does, so equal answers look equal.
                  onChange(next.size ? field.options.filter((x) => next.has(x.value)).map((x) => x.value) : undefined);
                }}
              />
              {ctx.L(o.label)}
            </label>
          ))}
        </div>,
        true,
      );
    }
    case 'likert': {
      const grid = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
      return shell(
        <div className="table-wrap likert-wrap">
          <table className="table likert">
            <thead>
              <tr>
                <th />
                {field.options.map((o) => (
                  <th key={o.value} scope="col">
                    {ctx.L(o.label)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {field.items.map((item) => {
                const itemErrors = ctx.errorsByField.get(`${path}.${item.key}`) ?? [];
                return (
                  <tr key={item.key} className={itemErrors.length ? 'has-error' : undefined} data-field={`${path}.${item.key}`}>
                    <th scope="row">
                      {ctx.L(item.label)}
                      {itemErrors.map((e, i) => (
                        <span key={i} className="field-error">
                          {' '}
                          {validationMessage(ctx.t, e)}
                        </span>
                      ))}
                    </th>
                    {field.options.map((o) => (
                      <td key={o.value} className="num">
                        {/* On a phone the grid reflows to one item per block, and each choice shows its own label (styles.css). */}
                        <label className="likert-choice">
                          <input
                            type="radio"
                            name={`${id}-${item.key}`}
                            disabled={ctx.readOnly}
                            aria-label={`${ctx.L(item.label)}: ${ctx.L(o.label)}`}
                            checked={grid[item.key] === o.value}
                            onChange={() => onChange({ ...grid, [item.key]: o.value })}
                          />
                          <span className="likert-choice-text" aria-hidden="true">
                            {ctx.L(o.label)}
                          </span>
                        </label>
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>,
        true,
      );
    }
    case 'repeated': {
      const items = Array.isArray(value) ? (value as Answers[]) : [];
      const setItems = (next: Answers[]) => onChange(next.length ? next : undefined);
      return shell(
        <div className="repeated">
          {items.map((it, n) => (
            <div className="card repeated-item" key={n}>
              <div className="card-header">
                <strong>{field.itemLabel ? `${ctx.L(field.itemLabel)} ${n + 1}` : ctx.t('datahub.renderer.item', { n: n + 1 })}</strong>
                {!ctx.readOnly && (
                  <button type="button" className="btn btn-ghost" onClick={() => setItems(items.filter((_, k) => k !== n))}>
                    {ctx.t('datahub.renderer.remove')}
                  </button>
                )}
              </div>
              {field.fields
                .filter((sub) => ctx.visible.has(`${path}.${n}.${sub.name}`))
                .map((sub: ScalarField) => (
                  <FieldView
                    key={sub.name}
                    field={sub}
                    path={`${path}.${n}.${sub.name}`}
                    value={it?.[sub.name]}
                    answers={answers}
                    ctx={ctx}
                    onChange={(v) => {
                      const copy = { ...(it ?? {}) };
                      if (v === undefined) delete copy[sub.name];
                      else copy[sub.name] = v;
                      setItems(items.map((x, k) => (k === n ? copy : x)));
                    }}
                  />
                ))}
            </div>
          ))}
          {!ctx.readOnly && (
            <button type="button" className="btn" onClick={() => setItems([...items, {}])}>
              {ctx.t('datahub.renderer.add')}
              {field.itemLabel ? ` ${ctx.L(field.itemLabel)}` : ''}
            </button>
          )}
        </div>,
        true,
      );
    }
  }
}

function Radios({ name, options, value, onChange, ctx }: { name: string; options: { key: string; value: unknown; label: string }[]; value: unknown; onChange: (v: unknown) => void; ctx: Ctx }) {
  return (
    <div className="checks" role="radiogroup">
      {options.map((o) => (
        <label key={o.key} className="check">
          <input type="radio" name={name} disabled={ctx.readOnly} checked={value === o.value} onChange={() => onChange(o.value)} />
          {o.label}
        </label>
      ))}
    </div>
  );
}

/** Measures of a record, formatted for people. */
export function MeasuresTable({ form, language, measures }: { form: FormInstrument; language: string; measures: Record<string, unknown> }) {
  const { t } = useTranslation();
  const entries = Object.entries(form.measures ?? {});
  if (!entries.length) return null;
  return (
    <table className="table">
      <tbody>
        {entries.map(([name, m]) => (
          <tr key={name}>
            <th scope="row">{localise(m.label, language, form.languages)}</th>
            <td data-measure={name}>{formatValue(measures[name], t)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function formatValue(v: unknown, t: (k: string) => string): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? t('datahub.renderer.yes') : t('datahub.renderer.no');
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
