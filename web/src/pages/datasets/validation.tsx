import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import type { DatasetsApi, ValidationIssue } from '@cairn/sdk';
import { Button, ErrorAlert, Section, DataTable } from '../../components/ui.js';

/** The built-in rules (server/src/datasets/datasets.checks.ts), each explained on the rules page. */
export const BUILTIN_RULES = [
  'readme_missing',
  'bids_description_missing',
  'bids_description_invalid',
  'json_invalid',
  'encoding_invalid',
  'tsv_empty',
  'tsv_header_invalid',
  'tsv_row_invalid',
  'tsv_column_count',
  'file_not_checked',
  'bids_validator_unavailable',
  'bids_validator_failed',
  'bids_not_a_dataset',
] as const;

/**
 * Where a rule is explained: ours on the rules page; the BIDS validator's (`bids.<KEY>`) where
 * bids-validator 1.x itself sends people (its `helpUrl`: a NeuroStars search for the key).
 */
export function ruleLink(code: string): { href: string; external: boolean } {
  if (code.startsWith('bids.')) return { href: `https://neurostars.org/search?q=${encodeURIComponent(code.slice(5))}`, external: true };
  return { href: `/datasets/rules#${code}`, external: false };
}

interface Group {
  code: string;
  severity: 'error' | 'warning';
  issues: ValidationIssue[];
}

/** Grouped as the BIDS validators present them: errors then warnings, one group per rule, every file listed. */
export function groupIssues(issues: ValidationIssue[]): Group[] {
  const groups = new Map<string, Group>();
  for (const i of issues) {
    const key = `${i.severity}:${i.code}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { code: i.code, severity: i.severity, issues: [] }));
    g.issues.push(i);
  }
  return [...groups.values()].sort((a, b) => (a.severity === b.severity ? a.code.localeCompare(b.code) : a.severity === 'error' ? -1 : 1));
}

export function ValidationTab({ ds, dsApi, version, canEdit }: { ds: string; dsApi: DatasetsApi; version: string; canEdit: boolean }) {
  const { t } = useTranslation();
  const [state, setState] = useState<{ status: string; issues: ValidationIssue[] }>();
  const [error, setError] = useState<unknown>();
  const load = useCallback(() => dsApi.validation(ds, version).then(setState, setError), [ds, dsApi, version]);
  useEffect(() => {
    void load();
  }, [load]);
  const groups = groupIssues(state?.issues ?? []);
  const count = (s: 'error' | 'warning') => state?.issues.filter((i) => i.severity === s).length ?? 0;
  return (
    <Section
      title={t('datasets.tabs.validation')}
      actions={canEdit ? <Button onClick={() => dsApi.revalidate(ds).then(load, setError)}>{t('datasets.revalidate')}</Button> : undefined}
    >
      <ErrorAlert error={error} />
      {state && (
        <p data-testid="validation-summary">
          {version} · {t(`datasets.status.${state.status}`)} · {t('datasets.errorCount', { count: count('error') })}, {t('datasets.warningCount', { count: count('warning') })}
        </p>
      )}
      {groups.map((g) => {
        const link = ruleLink(g.code);
        return (
          <details key={`${g.severity}:${g.code}`} className={`issue-group issue-${g.severity}`} open={g.severity === 'error'}>
            <summary>
              <strong>{t(`datasets.severity.${g.severity}`)}</strong> <code>{g.code}</code> — {t(`datasets.rules.${g.code}.title`, { defaultValue: g.issues[0]!.message })}{' '}
              <small>({t('datasets.occurrences', { count: g.issues.length })})</small>
            </summary>
            <p>
              {link.external ? (
                <a href={link.href} target="_blank" rel="noreferrer">{t('datasets.aboutRule', { code: g.code })}</a>
              ) : (
                <Link to={link.href}>{t('datasets.aboutRule', { code: g.code })}</Link>
              )}
            </p>
            <DataTable label={g.code}>
              <thead>
                <tr>
                  <th>{t('datasets.file')}</th>
                  <th>{t('datasets.message')}</th>
                </tr>
              </thead>
              <tbody>
                {g.issues.map((i, k) => (
                  <tr key={k}>
                    <td><code>{i.file ?? t('datasets.wholeDataset')}</code></td>
                    <td>{i.message}</td>
                  </tr>
                ))}
              </tbody>
            </DataTable>
          </details>
        );
      })}
      {state && state.issues.length === 0 && <p>{t('datasets.noIssues')}</p>}
    </Section>
  );
}

/** What each built-in rule checks and how to fix it; issue lists link here (`#code`). */
export function ValidationRulesPage() {
  const { t } = useTranslation();
  useEffect(() => {
    const id = decodeURIComponent(location.hash.slice(1));
    if (id) document.getElementById(id)?.scrollIntoView();
  }, []);
  return (
    <div className="page">
      <h1>{t('datasets.rulesTitle')}</h1>
      <p>{t('datasets.rulesIntro')}</p>
      <dl className="rules">
        {BUILTIN_RULES.map((code) => (
          <div key={code} id={code}>
            <dt>
              <code>{code}</code> — {t(`datasets.rules.${code}.title`)}
            </dt>
            <dd>{t(`datasets.rules.${code}.fix`)}</dd>
          </div>
        ))}
      </dl>
      <p>{t('datasets.rulesBids')}</p>
    </div>
  );
}
