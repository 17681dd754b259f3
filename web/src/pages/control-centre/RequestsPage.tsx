import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { EventRights, PermissionRequest } from '@cairn/sdk';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { Alert, Button, DateTime, ErrorAlert, LoadedList, LoadedTable, Section } from '../../components/ui.js';
import { ControlCentreLayout, PendingRequestItem, RequestStatusBadge, RightsCells, RightsHeaders, ccPath, usePending, useRightsText } from './common.js';

export function RequestsPage() {
  return (
    <ControlCentreLayout>
      <Requests />
    </ControlCentreLayout>
  );
}

/** How many decided requests the "decided recently" table shows. */
const RECENT = 20;

function Requests() {
  const { t } = useTranslation();
  const pending = usePending();
  const rightsText = useRightsText();
  const open = useLoad(() => api.apps.permissionRequests({ status: 'pending', limit: 1000 }));
  // Newest first across statuses; the pending ones are shown above, so keep the decided ones.
  const recent = useLoad(async () => (await api.apps.permissionRequests({ limit: 200 })).filter((r) => r.status !== 'pending').slice(0, RECENT));
  const [notice, setNotice] = useState<string | undefined>();

  // The tabs poll the pending count: when it moves (an app asked), show the new requests.
  const lastCount = useRef(pending.count);
  const reloadOpen = open.reload;
  useEffect(() => {
    if (pending.count !== undefined && lastCount.current !== undefined && pending.count !== lastCount.current) void reloadOpen();
    lastCount.current = pending.count;
  }, [pending.count, reloadOpen]);

  const decide = useAction(async (asked: PermissionRequest, decision: 'approve' | 'revoke', grant?: EventRights) => {
    const app = asked.appName ?? asked.appId;
    let r = asked;
    if (decision === 'approve') r = await api.apps.approveRequest(r.id, grant);
    // A pending request is declined (status "declined"), a grant revoked: the app tells them apart.
    else if (r.status === 'pending') await api.apps.declineRequest(r.id);
    else await api.apps.revokeRequest(r.id);
    pending.refresh();
    // Reload first: the notice appears with lists that already show the decision.
    await Promise.all([open.reload(), recent.reload()]);
    setNotice(
      decision === 'approve'
        ? t('controlCentre.requests.approved', { app, type: r.eventType, rights: rightsText(r) })
        : t(r.status === 'pending' ? 'controlCentre.requests.declined' : 'controlCentre.requests.revokedOk', { app, type: r.eventType }),
    );
  });
  const refresh = () => {
    setNotice(undefined);
    pending.refresh();
    void open.reload();
    void recent.reload();
  };

  return (
    <>
      <div className="page-head">
        <div>
          <h1>{t('controlCentre.requests.title')}</h1>
          <p className="muted">{t('controlCentre.requests.intro')}</p>
        </div>
        <Button onClick={refresh} pending={open.loading && !!open.data}>
          {t('controlCentre.requests.refresh')}
        </Button>
      </div>
      {notice && <Alert kind="success">{notice}</Alert>}
      <ErrorAlert error={decide.error} />

      <Section title={t('controlCentre.requests.pending')}>
        <LoadedList load={open} empty={t('controlCentre.requests.empty')}>
          {(items) => (
            <ul className="cc-requests" aria-label={t('controlCentre.requests.pending')}>
              {items.map((r) => (
                <PendingRequestItem key={r.id} request={r} appName={r.appName ?? r.appId} appLink busy={decide.pending} onDecide={(req, d, g) => void decide.run(req, d, g)} />
              ))}
            </ul>
          )}
        </LoadedList>
      </Section>

      <Section title={t('controlCentre.requests.recent')}>
        <LoadedTable
          load={recent}
          empty={t('controlCentre.requests.recentEmpty')}
          label={t('controlCentre.requests.recent')}
          head={
            <>
              <th scope="col">{t('controlCentre.requests.app')}</th>
              <th scope="col">{t('controlCentre.app.eventType')}</th>
              <RightsHeaders />
              <th scope="col">{t('controlCentre.app.status')}</th>
              <th scope="col">{t('controlCentre.app.decided')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('controlCentre.app.revokeGrant')}</span>
              </th>
            </>
          }
          row={(r) => (
            <tr key={r.id} data-request={r.eventType} data-status={r.status}>
              <th scope="row">
                <Link to={ccPath.app(r.appId)}>{r.appName ?? r.appId}</Link>
              </th>
              <td>
                <code>{r.eventType}</code>
              </td>
              <RightsCells rights={r} />
              <td>
                <RequestStatusBadge status={r.status} />
              </td>
              <td>
                <DateTime value={r.decidedAt} />
              </td>
              <td className="actions">
                {r.status === 'approved' && (
                  <Button pending={decide.pending} onClick={() => void decide.run(r, 'revoke')} aria-label={t('controlCentre.app.revokeGrantLabel', { type: r.eventType })}>
                    {t('controlCentre.app.revokeGrant')}
                  </Button>
                )}
              </td>
            </tr>
          )}
        />
      </Section>
    </>
  );
}
