import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import hljs from 'highlight.js/lib/core';
import javascript from 'highlight.js/lib/languages/javascript';
import python from 'highlight.js/lib/languages/python';
import json from 'highlight.js/lib/languages/json';

hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('python', python);
hljs.registerLanguage('json', json);

/**
 * A template's files with highlighted source, one tab per file (entry first). highlight.js
 * escapes the text it is given, so the HTML holds only its own spans, never the view's code as markup.
 */
export function SourceView({ files, entry }: { files: Record<string, string>; entry: string }) {
  const { t } = useTranslation();
  const names = useMemo(() => Object.keys(files).sort((a, b) => (a === entry ? -1 : b === entry ? 1 : a.localeCompare(b))), [files, entry]);
  const [selected, setSelected] = useState<string | undefined>();
  const name = selected && files[selected] !== undefined ? selected : names[0];
  const html = useMemo(() => {
    if (name === undefined) return '';
    const language = name.endsWith('.py') ? 'python' : 'javascript';
    return hljs.highlight(files[name] ?? '', { language }).value;
  }, [files, name]);
  if (name === undefined) return null;
  return (
    <div className="view-source">
      <div className="view-source-tabs" role="tablist" aria-label={t('views.files')}>
        {names.map((n) => (
          <button key={n} type="button" role="tab" aria-selected={n === name} className={`view-source-tab${n === name ? ' active' : ''}`} onClick={() => setSelected(n)}>
            {n}
          </button>
        ))}
      </div>
      <pre className="hljs view-source-code" role="tabpanel" aria-label={name}>
        <code dangerouslySetInnerHTML={{ __html: html }} />
      </pre>
    </div>
  );
}

/** Pretty, highlighted JSON (configuration values). */
export function JsonView({ value }: { value: unknown }) {
  const html = useMemo(() => hljs.highlight(JSON.stringify(value, null, 2) ?? 'null', { language: 'json' }).value, [value]);
  return (
    <pre className="hljs view-json">
      <code dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}
