import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { CORE_ACTIONS, WebhooksApi, type WebhookDeliveryStatus, type WebhookSubscription } from '@cairn/sdk';
import { api } from '../../api.js';
import './webhooks.css';
import { useAction, useLoad } from '../../hooks.js';
import { Alert, Button, ConfirmButton, CopyButton, DateTime, ErrorAlert, LoadedTable, Section, TextField } from '../../components/ui.js';

const webhooks = new WebhooksApi(api.http);
/** Registration entries that only record a read are never sent. */
const ACTIONS = CORE_ACTIONS.filter((a) => a !== 'assign' && a !== 'unassign');
export const webhooksPath = { list: '/webhooks', one: (id: string) => `/webhooks/${encodeURIComponent(id)}` };

/** The secret, shown once after creating a subscription or rotating its secret. */
function SecretBox({ secret, onDone }: { secret: string; onDone: () => void }) {
  const { t } = useTranslation();
  return (
    <Alert kind="warning">
      <p>
        <strong>{t('webhooks.create.secretTitle')}</strong>: {t('webhooks.create.secretOnce')}
      </p>
      <p className="row">
        <code data-testid="webhook-secret">{secret}</code> <CopyButton text={secret} />
      </p>
      <Button onClick={onDone}>{t('webhooks.create.done')}</Button>
    </Alert>
  );
}

function Toggle({ s, onChanged }: { s: WebhookSubscription; onChanged: () => Promise<void> | void }) {
  const { t } = useTranslation();
  const toggle = useAction(async () => {
    await webhooks.update(s.id, { enabled: !s.enabled });
    await onChanged();
  });
  return (
    <>
      <Button onClick={() => void toggle.run()} pending={toggle.pending}>
        {s.enabled ? t('webhooks.list.pause') : t('webhooks.list.resume')}
      </Button>
      <ErrorAlert error={toggle.error} />
    </>
  );
}

export function WebhooksPage() {
  const { t } = useTranslation();
  const subs = useLoad(() => webhooks.list());
  const types = useLoad(() => api.eventTypes.list());
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [eventTypes, setEventTypes] = useState<string[]>([]);
  const [actions, setActions] = useState<string[]>([]);
  const [secret, setSecret] = useState<string | undefined>();
  const [missingChoice, setMissingChoice] = useState(false);
  const toggleIn = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  const create = useAction(async () => {
    const r = await webhooks.create({ name: name.trim(), url: url.trim(), eventTypes, registrationActions: actions });
    setName('');
    setUrl('');
    setEventTypes([]);
    setActions([]);
    setSecret(r.secret);
    await subs.reload();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSecret(undefined);
    const none = !eventTypes.length && !actions.length;
    setMissingChoice(none);
    if (!none) void create.run();
  };

  return (
    <div className="webhooks-page">
      <div className="page-head">
        <div>
          <h1>{t('webhooks.title')}</h1>
          <p className="muted">{t('webhooks.intro')}</p>
        </div>
      </div>
      {secret && <SecretBox secret={secret} onDone={() => setSecret(undefined)} />}
      <Section title={t('webhooks.list.title')}>
        <LoadedTable
          load={subs}
          empty={t('webhooks.list.empty')}
          label={t('webhooks.list.title')}
          head={
            <>
              <th>{t('webhooks.list.name')}</th>
              <th>{t('webhooks.list.url')}</th>
              <th>{t('webhooks.list.what')}</th>
              <th>{t('webhooks.list.state')}</th>
              <th>{t('webhooks.list.counts')}</th>
              <th />
            </>
          }
          row={(s) => (
            <tr key={s.id}>
              <td>
                <Link to={webhooksPath.one(s.id)}>{s.name}</Link>
              </td>
              <td className="break">{s.url}</td>
              <td className="small">{[...s.eventTypes, ...s.registrationActions.map((a) => `registration: ${a}`)].join(', ')}</td>
              <td>{s.enabled ? t('webhooks.list.enabled') : t('webhooks.list.disabled')}</td>
              <td className="small">{t('webhooks.list.countsValue', { delivered: s.delivered, pending: s.pending, failed: s.failed })}</td>
              <td>
                <Toggle s={s} onChanged={subs.reload} />
              </td>
            </tr>
          )}
        />
      </Section>
      <Section title={t('webhooks.create.title')}>
        <form onSubmit={submit}>
          <ErrorAlert error={create.error} />
          <TextField label={t('webhooks.create.name')} name="webhook-name" required maxLength={200} autoComplete="off" placeholder={t('webhooks.create.namePlaceholder')} value={name} onChange={(e) => setName(e.target.value)} />
          <TextField label={t('webhooks.create.url')} name="webhook-url" inputMode="url" required maxLength={2000} autoComplete="off" hint={t('webhooks.create.urlHint')} value={url} onChange={(e) => setUrl(e.target.value)} />
          <fieldset className="field">
            <legend>{t('webhooks.create.eventTypes')}</legend>
            {types.data && types.data.length === 0 && <p className="muted small">{t('webhooks.create.eventTypesNone')}</p>}
            {types.data?.map((et) => (
              <label key={et.name} className="checkbox">
                <input type="checkbox" checked={eventTypes.includes(et.name)} onChange={() => setEventTypes((l) => toggleIn(l, et.name))} /> {et.name}
                {et.description ? <span className="muted small"> — {et.description}</span> : null}
              </label>
            ))}
          </fieldset>
          <fieldset className="field">
            <legend>{t('webhooks.create.actions')}</legend>
            {ACTIONS.map((a) => (
              <label key={a} className="checkbox">
                <input type="checkbox" name={`action-${a}`} checked={actions.includes(a)} onChange={() => setActions((l) => toggleIn(l, a))} /> {a}
              </label>
            ))}
          </fieldset>
          {missingChoice && <Alert kind="error">{t('webhooks.create.chooseOne')}</Alert>}
          <Button type="submit" variant="primary" pending={create.pending}>
            {t('webhooks.create.submit')}
          </Button>
        </form>
      </Section>
    </div>
  );
}

export function WebhookPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const sub = useLoad(() => webhooks.get(id));
  const [status, setStatus] = useState<WebhookDeliveryStatus | ''>('');
  const [before, setBefore] = useState<number[]>([]);
  const cursor = before[before.length - 1];
  const log = useLoad(() => webhooks.deliveries(id, { status: status || undefined, before: cursor, limit: 50 }));
  const reloadLog = log.reload;
  // useLoad loads once; the filter and the page cursor load again.
  useEffect(() => {
    void reloadLog();
  }, [status, cursor, reloadLog]);
  const [secret, setSecret] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [replayed, setReplayed] = useState<string | undefined>();
  const rotate = useAction(async () => {
    setConfirming(false);
    setSecret((await webhooks.rotateSecret(id)).secret);
  });
  const replay = useAction(async (deliveryId: string) => {
    await webhooks.replay(deliveryId);
    setReplayed(deliveryId);
    await Promise.all([log.reload(), sub.reload()]);
  });

  return (
    <div className="webhooks-page">
      <p>
        <Link to={webhooksPath.list}>← {t('webhooks.detail.back')}</Link>
      </p>
      <ErrorAlert error={sub.error} />
      {sub.data && (
        <div className="page-head">
          <div>
            <h1>{sub.data.name}</h1>
            <p className="muted break">{sub.data.url}</p>
            <p className="small">{t('webhooks.list.countsValue', { delivered: sub.data.delivered, pending: sub.data.pending, failed: sub.data.failed })}</p>
          </div>
          <div className="row">
            <Toggle s={sub.data} onChanged={sub.reload} />
            <ConfirmButton open={confirming} onAsk={() => setConfirming(true)} question={t('webhooks.detail.rotateConfirm')} action={t('webhooks.detail.rotate')} pending={rotate.pending} onConfirm={() => void rotate.run()} onCancel={() => setConfirming(false)} />
          </div>
        </div>
      )}
      <ErrorAlert error={rotate.error ?? replay.error} />
      {secret && <SecretBox secret={secret} onDone={() => setSecret(undefined)} />}
      {replayed && <Alert kind="success">{t('webhooks.detail.replayed')}</Alert>}
      <Section
        title={t('webhooks.list.open')}
        actions={
          <label className="row small">
            {t('webhooks.detail.filter')}{' '}
            <select
              value={status}
              onChange={(e) => {
                setBefore([]);
                setStatus(e.target.value as WebhookDeliveryStatus | '');
              }}
            >
              <option value="">{t('webhooks.detail.all')}</option>
              {(['pending', 'delivered', 'failed'] as const).map((s) => (
                <option key={s} value={s}>
                  {t(`webhooks.detail.status.${s}`)}
                </option>
              ))}
            </select>
          </label>
        }
      >
        <LoadedTable
          load={{ ...log, data: log.data?.deliveries }}
          empty={t('webhooks.detail.empty')}
          label={t('webhooks.list.open')}
          head={
            <>
              <th>{t('webhooks.detail.seq')}</th>
              <th>{t('webhooks.detail.entry')}</th>
              <th>{t('webhooks.list.state')}</th>
              <th>{t('webhooks.detail.attempts')}</th>
              <th>{t('webhooks.detail.answer')}</th>
              <th>{t('webhooks.detail.when')}</th>
              <th />
            </>
          }
          row={(d) => (
            <tr key={d.id} data-status={d.status}>
              <td>{d.seq}</td>
              <td className="small">
                {d.eventType}
                {d.stream ? <span className="muted"> · {d.stream}</span> : null}
                {d.replayOf ? <span className="muted"> · {t('webhooks.detail.replayOf')}</span> : null}
              </td>
              <td>
                {t(`webhooks.detail.status.${d.status}`)}
                {d.nextAttemptAt && d.attempts > 0 ? (
                  <span className="muted small">
                    {' '}
                    · {t('webhooks.detail.nextAttempt', { when: new Date(d.nextAttemptAt).toLocaleTimeString() })}
                  </span>
                ) : null}
              </td>
              <td>{d.attempts}</td>
              <td className="small break">{[d.lastStatus ? `HTTP ${d.lastStatus}` : null, d.lastError, d.lastBody].filter(Boolean).join(' — ')}</td>
              <td>
                <DateTime value={d.createdAt} />
              </td>
              <td>
                {d.status !== 'pending' && (
                  <Button onClick={() => void replay.run(d.id)} pending={replay.pending}>
                    {t('webhooks.detail.replay')}
                  </Button>
                )}
              </td>
            </tr>
          )}
        />
        {log.data?.next && (
          <Button onClick={() => setBefore((b) => [...b, log.data!.next!])}>{t('webhooks.detail.more')}</Button>
        )}
      </Section>
    </div>
  );
}
