import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import './QuickSearch.css';

/**
 * The quick search box of every page (docs/search.md): one field that takes a name, a tracking ID,
 * a national ID or a phone number and opens the results page. On a phone it takes its own row
 * under the header, full width.
 */
export function QuickSearch() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = q.trim();
    if (text) void navigate(`/registrations/search?${new URLSearchParams({ q: text }).toString()}`);
  };
  return (
    <form role="search" className="quicksearch" onSubmit={submit}>
      <input type="search" name="q" value={q} onChange={(e) => setQ(e.target.value)} aria-label={t('search.quick.label')} placeholder={t('search.quick.placeholder')} maxLength={200} enterKeyHint="search" />
      <button type="submit" className="btn btn-primary">
        {t('search.quick.submit')}
      </button>
    </form>
  );
}
