import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useAction } from '../hooks.js';
import { useUser } from '../session.js';
import { errorText } from '../api.js';
import { Alert, Button, ConfirmButton, CopyButton, DateTime, ErrorAlert, Section } from '../components/ui.js';
import { useOnline, useOutbox } from './hooks.js';
import { discard, retry, syncNow, type OutboxItem } from './outbox.js';
import { downloadForOffline, lastDownload, type Downloaded } from './prefetch.js';
import { CairnError } from '@cairn/sdk';

/** The outbox: what waits for the server, each item's state, and the download for offline work. */
export function OfflinePage() {
  const { t } = useTranslation();
  const { can } = useUser();
  const online = useOnline();
  const { items, sent } = useOutbox();
  const [downloaded, setDownloaded] = useState<Downloaded | undefined>();
  useEffect(() => {
    void lastDownload().then(setDownloaded);
  }, []);
  const download = useAction(async () => setDownloaded(await downloadForOffline(can)));
  const waiting = items.filter((i) => i.state === 'waiting' || i.state === 'sending').length;

  return (
    <div className="page narrow-wide">
      <h1>{t('offline.title')}</h1>
      <p className="lead">{t('offline.intro')}</p>
      <Section
        title={t('offline.summary', { count: waiting })}
        actions={
          items.length > 0 && online ? (
            <Button onClick={() => void syncNow()}>{t('offline.sendNow')}</Button>
          ) : undefined
        }
      >
        {items.length === 0 ? (
          <p data-testid="outbox-empty">{t('offline.empty')}</p>
        ) : (
          <ol className="outbox" aria-label={t('offline.badge')}>
            {items.map((item) => (
              <OutboxRow key={item.id} item={item} />
            ))}
          </ol>
        )}
        {sent.length > 0 && (
          <>
            <h3>{t('offline.sent')}</h3>
            <ul className="outbox-sent">
              {sent.map((s) => (
                <li key={s.id}>
                  {s.title}
                  {s.detail ? ` · ${s.detail}` : ''}
                </li>
              ))}
            </ul>
          </>
        )}
      </Section>
      <Section title={t('offline.download.title')}>
        <p>{t('offline.download.help')}</p>
        {downloaded ? (
          <p role="status">
            {t('offline.download.done', { ...downloaded })} <DateTime value={downloaded.at} />
          </p>
        ) : (
          <p className="muted">{t('offline.download.never')}</p>
        )}
        <ErrorAlert error={download.error} />
        <Button variant="primary" pending={download.pending} disabled={!online} onClick={() => void download.run()}>
          {t('offline.download.button')}
        </Button>
      </Section>
    </div>
  );
}

function OutboxRow({ item }: { item: OutboxItem }) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  const why = item.error ? (item.error.code === 'attachment_missing' ? t('offline.attachmentMissing') : errorText(t, errorLike(item.error))) : '';
  // A refused upload says which file: "birth-certificate.jpg: not a JPEG".
  const reason = item.error?.attachment ? `${item.error.attachment}: ${why}` : why;
  const files = item.attachments ?? [];
  const state =
    item.state === 'failed' || item.state === 'conflict'
      ? t(`offline.state.${item.state}`, { reason })
      : item.state === 'sending' && item.uploading !== undefined
        ? t('offline.uploading', { n: item.uploading + 1, total: files.length })
        : t(`offline.state.${item.state}`);
  const data = item.body.data ?? item.body;
  return (
    <li className={`outbox-item outbox-${item.state}`} data-testid="outbox-item">
      <div className="outbox-head">
        <strong>{item.title}</strong>
        {item.detail && <span> · {item.detail}</span>}
      </div>
      <div className="small">
        <span className="outbox-state" data-state={item.state}>
          {state}
        </span>
        {item.state === 'waiting' && item.error && <span className="muted"> ({t('offline.lastTry', { reason })})</span>}
        {' · '}
        {t('offline.confirmedAt')} <DateTime value={item.occurredAt} /> · {t('offline.attempts', { count: item.attempts })}
      </div>
      {files.length > 0 && (
        <div className="small" data-testid="outbox-attachments">
          {t('offline.attachments', { done: files.filter((f) => f.uploaded).length, count: files.length })}
        </div>
      )}
      {item.state === 'conflict' && <Alert kind="warning">{t('offline.conflictHelp')}</Alert>}
      {(item.state === 'failed' || item.state === 'conflict') && (
        <div className="row">
          <CopyButton text={JSON.stringify(data, null, 2)} label={t('offline.copy')} />
          <Button onClick={() => void retry(item.id)}>{t('offline.retry')}</Button>
          <ConfirmButton open={confirming} onAsk={() => setConfirming(true)} variant="ghost" question={t('offline.discardQuestion')} action={t('offline.discard')} onConfirm={() => void discard(item.id)} onCancel={() => setConfirming(false)} />
        </div>
      )}
      {(item.state === 'failed' || item.state === 'conflict') && (
        <details>
          <summary>{t('offline.copy')}</summary>
          <pre className="outbox-data" data-testid="outbox-data">
            {JSON.stringify(data, null, 2)}
          </pre>
        </details>
      )}
      {item.link && <Link to={item.link}>{item.detail ?? item.title}</Link>}
    </li>
  );
}

/** The stored error as errorText translates it (a code the catalog knows, or the server's message). */
const errorLike = (e: NonNullable<OutboxItem['error']>) => new CairnError(e.status, e.code, e.message);
