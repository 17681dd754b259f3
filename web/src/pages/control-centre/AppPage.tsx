import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { AppWithCode, EventRights, LedgerEntry, PermissionRequest } from '@cairn/sdk';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { Alert, Button, ConfirmButton, ConfirmInline, DataTable, DateTime, Drawer, ErrorAlert, PageLoading, Section } from '../../components/ui.js';
import { AppStatusBadge, AssociationCodeBox, ControlCentreLayout, JsonView, PendingRequestItem, RequestStatusBadge, RightsCells, RightsHeaders, ccPath, usePending, useRightsText } from './common.js';

export function AppPage() {
  // Keyed by id: moving to another app loads it afresh.
  const { id = '' } = useParams();
  return (
    <ControlCentreLayout>
      <AppDetailView key={id} id={id} />
    </ControlCentreLayout>
  );
}

type Confirm = { kind: 'app' } | { kind: 'grant'; request: PermissionRequest } | undefined;

function AppDetailView({ id }: { id: string }) {
  const { t } = useTranslation();
  const pending = usePending();
  const rightsText = useRightsText();
  const app = useLoad(() => api.apps.get(id));
  const [code, setCode] = useState<AppWithCode | undefined>();
  const [confirm, setConfirm] = useState<Confirm>();
  const [notice, setNotice] = useState<string | undefined>();
  const [selected, setSelected] = useState<LedgerEntry | undefined>();
  const close = useCallback(() => setSelected(undefined), []);

  const newCode = useAction(async () => {
    setNotice(undefined);
    setCode(await api.apps.newAssociationCode(id));
    await app.reload();
  });
  const revokeApp = useAction(async () => {
    const a = await api.apps.revoke(id);
    // Reload first: the notice appears with a page that already shows the new state.
    await app.reload();
    setConfirm(undefined);
    setCode(undefined);
    setNotice(t('controlCentre.app.revoked', { name: a.name }));
  });
  const decide = useAction(async (asked: PermissionRequest, decision: 'approve' | 'revoke', grant?: EventRights) => {
    let r = asked;
    if (decision === 'approve') r = await api.apps.approveRequest(r.id, grant);
    // A pending request is declined (status "declined"), a grant revoked: the app tells them apart.
    else if (r.status === 'pending') await api.apps.declineRequest(r.id);
    else await api.apps.revokeRequest(r.id);
    pending.refresh();
    await app.reload();
    setConfirm(undefined);
    const name = app.data?.name ?? '';
    setNotice(
      decision === 'approve'
        ? t('controlCentre.requests.approved', { app: name, type: r.eventType, rights: rightsText(r) })
        : t(r.status === 'pending' ? 'controlCentre.requests.declined' : 'controlCentre.requests.revokedOk', { app: name, type: r.eventType }),
    );
  });

  if (app.loading && !app.data) return <PageLoading />;
  if (!app.data) return <ErrorAlert error={app.error} />;
  const a = app.data;
  const revoked = a.status === 'revoked';
  const open = a.requests.filter((r) => r.status === 'pending');

  return (
    <>
      <p className="small">
        <Link to={ccPath.apps}>← {t('controlCentre.app.back')}</Link>
      </p>
      <div className="page-head">
        <div>
          <h1>{a.name}</h1>
          <p className="muted">{a.description || t('controlCentre.app.noDescription')}</p>
        </div>
        <AppStatusBadge status={a.status} />
      </div>
      {notice && <Alert kind="success">{notice}</Alert>}
      <ErrorAlert error={app.error ?? newCode.error ?? revokeApp.error ?? decide.error} />
      {code && <AssociationCodeBox app={code} onDone={() => setCode(undefined)} />}

      <div className="grid-side">
        <Section title={t('controlCentre.app.details')}>
          <dl className="props">
            <dt>{t('controlCentre.app.status')}</dt>
            <dd>
              <AppStatusBadge status={a.status} />
            </dd>
            <dt>{t('controlCentre.app.registered')}</dt>
            <dd>
              <DateTime value={a.createdAt} />
            </dd>
            <dt>{t('controlCentre.app.associated')}</dt>
            <dd>
              <DateTime value={a.associatedAt} />
            </dd>
            {a.associationExpiresAt && !revoked && (
              <>
                <dt>{t('controlCentre.app.codeExpires')}</dt>
                <dd>
                  <DateTime value={a.associationExpiresAt} />
                </dd>
              </>
            )}
            {a.revokedAt && (
              <>
                <dt>{t('controlCentre.app.revokedAt')}</dt>
                <dd>
                  <DateTime value={a.revokedAt} />
                </dd>
              </>
            )}
            <dt>{t('controlCentre.app.rateLimit')}</dt>
            <dd>{t('controlCentre.app.perMinute', { count: a.rateLimitPerMinute })}</dd>
            <dt>{t('controlCentre.app.id')}</dt>
            <dd>
              <code>{a.id}</code>
            </dd>
          </dl>
          {!revoked && (
            <div className="stack cc-actions">
              <div>
                <Button onClick={() => void newCode.run()} pending={newCode.pending}>
                  {t('controlCentre.app.newCode')}
                </Button>
                <p className="muted small">{t('controlCentre.app.newCodeHint')}</p>
              </div>
              {confirm?.kind === 'app' ? (
                <ConfirmInline
                  block
                  question={t('controlCentre.app.confirmRevoke', { name: a.name })}
                  action={t('controlCentre.app.revoke')}
                  pending={revokeApp.pending}
                  onConfirm={() => void revokeApp.run()}
                  onCancel={() => setConfirm(undefined)}
                />
              ) : (
                <div>
                  <Button variant="danger" onClick={() => setConfirm({ kind: 'app' })}>
                    {t('controlCentre.app.revoke')}
                  </Button>
                </div>
              )}
            </div>
          )}
        </Section>

        <div className="stack">
          {open.length > 0 && (
            <Section title={t('controlCentre.requests.pending')}>
              <ul className="cc-requests">
                {open.map((r) => (
                  <PendingRequestItem key={r.id} request={r} appName={a.name} busy={decide.pending} onDecide={(req, d, g) => void decide.run(req, d, g)} />
                ))}
              </ul>
            </Section>
          )}

          <Section title={t('controlCentre.app.grants')}>
            {a.grants.length === 0 ? (
              <p className="empty">{t('controlCentre.app.grantsEmpty')}</p>
            ) : (
              <DataTable
                label={t('controlCentre.app.grants')}
                head={
                  <>
                    <th scope="col">{t('controlCentre.app.eventType')}</th>
                    <RightsHeaders />
                    <th scope="col">{t('controlCentre.app.approvedAt')}</th>
                    <th scope="col">
                      <span className="visually-hidden">{t('controlCentre.app.revokeGrant')}</span>
                    </th>
                  </>
                }
                rows={a.grants}
                row={(g) => (
                  <tr key={g.id} data-grant={g.eventType}>
                    <th scope="row">
                      <Link to={ccPath.type(g.eventType)}>
                        <code>{g.eventType}</code>
                      </Link>
                    </th>
                    <RightsCells rights={g} />
                    <td>
                      <DateTime value={g.decidedAt} />
                    </td>
                    <td className="actions">
                      <ConfirmButton
                        open={confirm?.kind === 'grant' && confirm.request.id === g.id}
                        onAsk={() => setConfirm({ kind: 'grant', request: g })}
                        label={t('controlCentre.app.revokeGrantLabel', { type: g.eventType })}
                        question={t('controlCentre.app.confirmRevokeGrant', { type: g.eventType })}
                        action={t('controlCentre.app.revokeGrant')}
                        pending={decide.pending}
                        onConfirm={() => void decide.run(g, 'revoke')}
                        onCancel={() => setConfirm(undefined)}
                      />
                    </td>
                  </tr>
                )}
              />
            )}
          </Section>

          <Section title={t('controlCentre.app.activity')}>
            <ActivityTable entries={a.recentActivity} onOpen={setSelected} />
          </Section>

          <Section title={t('controlCentre.app.requests')}>
            <RequestsTable requests={a.requests} />
          </Section>
        </div>
      </div>

      <Drawer open={!!selected} title={selected ? `${t('controlCentre.app.entry')} #${selected.position}` : ''} onClose={close}>
        {selected && (
          <>
            <dl className="props">
              <dt>{t('controlCentre.events.id')}</dt>
              <dd>
                <code>{selected.id}</code>
              </dd>
              <dt>{t('controlCentre.events.type')}</dt>
              <dd>
                <code>{selected.type}</code>
              </dd>
              <dt>{t('controlCentre.events.stream')}</dt>
              <dd>{selected.stream ?? '—'}</dd>
              <dt>{t('controlCentre.events.recorded')}</dt>
              <dd>
                <DateTime value={selected.recordedAt} />
              </dd>
            </dl>
            <h3>{t('controlCentre.events.data')}</h3>
            <JsonView value={selected.data} label={t('controlCentre.events.data')} />
          </>
        )}
      </Drawer>
    </>
  );
}

/** What an activity entry means, in words. */
function useDescribe() {
  const { t } = useTranslation();
  const rightsText = useRightsText();
  return (e: LedgerEntry) => {
    const d = (e.data ?? {}) as Partial<EventRights> & { eventType?: string };
    if (e.type.startsWith('cairn.app.')) {
      return t(`controlCentre.activity.${e.type.slice('cairn.app.'.length)}`, { defaultValue: e.type, type: d.eventType ?? '', rights: rightsText(d) });
    }
    if (e.type === 'cairn.event_type.registered') {
      const v = e.data as { name?: string; version?: number };
      return t('controlCentre.activity.typeRegistered', { type: v.name ?? '', version: v.version ?? '' });
    }
    if (e.type === 'cairn.event.superseded') return t('controlCentre.activity.superseded');
    if (e.type === 'ledger.erased') return t('controlCentre.activity.erased');
    return t('controlCentre.activity.wrote', { type: e.type });
  };
}

/** Consecutive entries that say the same thing (a batch of writes) are shown as one row with a count. */
function groupActivity(entries: LedgerEntry[], describe: (e: LedgerEntry) => string) {
  const groups: { entry: LedgerEntry; text: string; count: number }[] = [];
  for (const e of entries) {
    const text = describe(e);
    const last = groups[groups.length - 1];
    if (last && last.text === text && last.entry.actor.kind === e.actor.kind) last.count++;
    else groups.push({ entry: e, text, count: 1 });
  }
  return groups;
}

function ActivityTable({ entries, onOpen }: { entries: LedgerEntry[]; onOpen: (e: LedgerEntry) => void }) {
  const { t } = useTranslation();
  const describe = useDescribe();
  if (entries.length === 0) return <p className="empty">{t('controlCentre.app.activityEmpty')}</p>;
  return (
    <DataTable
      label={t('controlCentre.app.activity')}
      head={
        <>
          <th scope="col">{t('controlCentre.app.when')}</th>
          <th scope="col">{t('controlCentre.app.what')}</th>
          <th scope="col">{t('controlCentre.events.actor')}</th>
        </>
      }
      rows={groupActivity(entries, describe)}
      row={({ entry: e, text, count }) => (
        <tr key={e.id} data-type={e.type} data-count={count}>
          <td>
            <DateTime value={e.recordedAt} />
          </td>
          <td>
            <button type="button" className="linklike" onClick={() => onOpen(e)} aria-haspopup="dialog">
              {text}
            </button>
            {count > 1 && <span className="badge cc-times">{t('controlCentre.app.times', { count })}</span>}
          </td>
          <td className="muted">{t(`controlCentre.events.actorKind.${e.actor.kind}`, { defaultValue: e.actor.kind })}</td>
        </tr>
      )}
    />
  );
}

function RequestsTable({ requests }: { requests: PermissionRequest[] }) {
  const { t } = useTranslation();
  if (requests.length === 0) return <p className="empty">{t('controlCentre.app.requestsEmpty')}</p>;
  return (
    <DataTable
      label={t('controlCentre.app.requests')}
      head={
        <>
          <th scope="col">{t('controlCentre.app.eventType')}</th>
          <RightsHeaders />
          <th scope="col">{t('controlCentre.app.status')}</th>
          <th scope="col">{t('controlCentre.app.asked')}</th>
          <th scope="col">{t('controlCentre.app.decided')}</th>
          <th scope="col">{t('controlCentre.app.message')}</th>
        </>
      }
      rows={requests}
      row={(r) => (
        <tr key={r.id} data-request={r.eventType} data-status={r.status}>
          <th scope="row">
            <code>{r.eventType}</code>
          </th>
          <RightsCells rights={r} />
          <td>
            <RequestStatusBadge status={r.status} />
          </td>
          <td>
            <DateTime value={r.createdAt} />
          </td>
          <td>
            <DateTime value={r.decidedAt} />
          </td>
          <td className="cc-clip">{r.message || '—'}</td>
        </tr>
      )}
    />
  );
}
