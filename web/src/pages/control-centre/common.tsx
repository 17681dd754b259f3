import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link, NavLink } from 'react-router';
import { Trans, useTranslation } from 'react-i18next';
import QRCode from 'qrcode';
import hljs from 'highlight.js/lib/core';
import json from 'highlight.js/lib/languages/json';
import { EVENT_RIGHTS, type AppStatus, type AppWithCode, type EventRights, type PermissionRequest, type PermissionRequestStatus } from '@cairn/sdk';
import { api } from '../../api.js';
import { useUser } from '../../session.js';
import { Button, CopyButton, DateTime } from '../../components/ui.js';

hljs.registerLanguage('json', json);

/** How often the pending-requests count is re-read while a Control Centre page is open. */
const PENDING_POLL_MS = 10_000;

interface PendingApi {
  /** Pending permission requests, undefined until known (or without apps:manage). */
  count: number | undefined;
  refresh(): void;
}
const PendingContext = createContext<PendingApi>({ count: undefined, refresh: () => {} });

/** The pending-requests count shared by the tabs and the pages that change it. */
export const usePending = () => useContext(PendingContext);

export const ccPath = {
  apps: '/control-centre/apps',
  app: (id: string) => `/control-centre/apps/${encodeURIComponent(id)}`,
  requests: '/control-centre/requests',
  types: '/control-centre/event-types',
  // Type names hold a "/", which stays a path separator (the route is a splat).
  type: (name: string) => `/control-centre/event-types/${name.split('/').map(encodeURIComponent).join('/')}`,
  locations: '/control-centre/locations',
  /** The ledger verification lives on the System page; the Control Centre links to it. */
  verification: '/system#ledger-verification',
  events: (query?: Record<string, string>) => `/control-centre/events${query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : ''}`,
};

/** The Control Centre's frame: its section tabs (with the pending badge) above the page. */
export function ControlCentreLayout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { can } = useUser();
  const manage = can('apps:manage');
  const [count, setCount] = useState<number | undefined>();
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    if (!manage) return;
    let live = true;
    const load = () =>
      api.apps
        .permissionRequests({ status: 'pending', limit: 1000 })
        .then((r) => live && setCount(r.length))
        // The badge is a hint: a failed poll keeps the last count and the pages show their own errors.
        .catch(() => {});
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, PENDING_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [manage, tick]);

  const tabs = [
    { to: ccPath.apps, label: t('controlCentre.tabs.apps'), show: manage, end: false, badge: false },
    { to: ccPath.requests, label: t('controlCentre.tabs.requests'), show: manage, end: false, badge: true },
    { to: ccPath.types, label: t('controlCentre.tabs.eventTypes'), show: true, end: false, badge: false },
    { to: ccPath.events(), label: t('controlCentre.tabs.events'), show: can('events:read'), end: false, badge: false },
    { to: ccPath.locations, label: t('locations.tab'), show: can('workspaces:manage'), end: false, badge: false },
    { to: ccPath.verification, label: t('controlCentre.tabs.verification'), show: can('settings:manage'), end: false, badge: false },
  ];
  const value = useMemo(() => ({ count, refresh }), [count, refresh]);
  return (
    <PendingContext.Provider value={value}>
      <div className="page cc">
        <nav className="cc-tabs" aria-label={t('controlCentre.sections')}>
          <ul>
            {tabs
              .filter((tab) => tab.show)
              .map((tab) => (
                <li key={tab.to}>
                  <NavLink
                    to={tab.to}
                    end={tab.end}
                  >
                    {tab.label}
                    {tab.badge && !!count && (
                      <span className="cc-count" data-testid="pending-count">
                        <span aria-hidden="true">{count}</span>
                        <span className="visually-hidden">{t('controlCentre.pendingBadge', { count })}</span>
                      </span>
                    )}
                  </NavLink>
                </li>
              ))}
          </ul>
        </nav>
        {children}
      </div>
    </PendingContext.Provider>
  );
}

export function AppStatusBadge({ status }: { status: AppStatus }) {
  const { t } = useTranslation();
  return <span className={`status cc-status-${status}`}>{t(`controlCentre.appStatus.${status}`)}</span>;
}

export function RequestStatusBadge({ status }: { status: PermissionRequestStatus }) {
  const { t } = useTranslation();
  return <span className={`status cc-req-${status}`}>{t(`controlCentre.requestStatus.${status}`)}</span>;
}

/** "read, create and modify" in the current language (Intl list format). */
export function useRightsText() {
  const { t, i18n } = useTranslation();
  return useCallback(
    (r: Partial<EventRights>) => {
      const names = EVENT_RIGHTS.filter((k) => r[k]).map((k) => t(`controlCentre.rights.${k}`));
      if (names.length === 0) return t('controlCentre.noRights');
      return new Intl.ListFormat(i18n.language, { style: 'long', type: 'conjunction' }).format(names);
    },
    [t, i18n.language],
  );
}

/** The four rights as a row of marks, each readable on its own ("read: yes"). */
export function RightsCells({ rights }: { rights: EventRights }) {
  const { t } = useTranslation();
  return (
    <>
      {EVENT_RIGHTS.map((k) => (
        <td key={k} className="cc-right" data-right={k}>
          <span aria-hidden="true" className={rights[k] ? 'pill pill-on' : 'pill pill-off'}>
            {rights[k] ? '✓' : '—'}
          </span>
          <span className="visually-hidden">{`${t(`controlCentre.rights.${k}`)}: ${rights[k] ? t('common.yes') : t('common.no')}`}</span>
        </td>
      ))}
    </>
  );
}

export function RightsHeaders() {
  const { t } = useTranslation();
  return (
    <>
      {EVENT_RIGHTS.map((k) => (
        <th key={k} scope="col" className="cc-right">
          {t(`controlCentre.rights.${k}`)}
        </th>
      ))}
    </>
  );
}

export function RightsPills({ rights }: { rights: EventRights }) {
  const { t } = useTranslation();
  return (
    <ul className="cc-pills" aria-label={t('controlCentre.rightsLabel')}>
      {EVENT_RIGHTS.filter((k) => rights[k]).map((k) => (
        <li key={k} className="cc-pill">
          {t(`controlCentre.rights.${k}`)}
        </li>
      ))}
    </ul>
  );
}

/** Pretty, highlighted JSON. highlight.js escapes the text; the HTML holds only its own spans. */
export function JsonView({ value, label }: { value: unknown; label?: string }) {
  const html = useMemo(() => hljs.highlight(JSON.stringify(value, null, 2) ?? 'null', { language: 'json' }).value, [value]);
  return (
    <pre className="json hljs cc-json" aria-label={label} tabIndex={0}>
      <code dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}

/** The one-time association code: as text to copy and as a QR code rendered in the browser. */
export function AssociationCodeBox({ app, onDone, showAppLink }: { app: AppWithCode; onDone: () => void; showAppLink?: boolean }) {
  const { t } = useTranslation();
  const [qr, setQr] = useState<string | undefined>();
  useEffect(() => {
    let live = true;
    // Rendered here, so the code never goes to a third-party QR service.
    QRCode.toDataURL(app.associationCode, { margin: 1, width: 200, errorCorrectionLevel: 'M' })
      .then((url) => live && setQr(url))
      .catch(() => live && setQr(undefined));
    return () => {
      live = false;
    };
  }, [app.associationCode]);
  return (
    <div className="secret-box cc-code" role="region" aria-label={t('controlCentre.code.title', { name: app.name })}>
      <h3>{t('controlCentre.code.title', { name: app.name })}</h3>
      <p>{t('controlCentre.code.intro')}</p>
      <div className="cc-code-body">
        <div className="qr">{qr ? <img src={qr} alt={t('controlCentre.code.qrAlt', { name: app.name })} width={200} height={200} /> : <div className="qr-placeholder" />}</div>
        <div className="stack">
          <div>
            <div className="muted small">{t('controlCentre.code.label')}</div>
            <div className="secret-row">
              <code className="secret" data-testid="association-code">
                {app.associationCode}
              </code>
              <CopyButton text={app.associationCode} label={`${t('common.copy')} ${t('controlCentre.code.label')}`} />
            </div>
          </div>
          <p>
            {t('controlCentre.code.expires')}: <DateTime value={app.associationExpiresAt} />
          </p>
          <div className="row">
            <Button variant="primary" onClick={onDone}>
              {t('controlCentre.code.done')}
            </Button>
            {showAppLink && <Link to={ccPath.app(app.id)}>{t('controlCentre.code.openApp')}</Link>}
          </div>
        </div>
      </div>
    </div>
  );
}

/**
 * One request awaiting a decision: who asks for what, their message, approve or decline. When
 * several rights are asked, each has a checkbox: unticking one approves the rest (issue 17).
 */
export function PendingRequestItem({ request: r, appName, appLink, busy, onDecide }: { request: PermissionRequest; appName: string; appLink?: boolean; busy: boolean; onDecide: (r: PermissionRequest, d: 'approve' | 'revoke', grant?: EventRights) => void }) {
  const { t } = useTranslation();
  const rightsText = useRightsText();
  const asked = EVENT_RIGHTS.filter((k) => r[k]);
  const [grant, setGrant] = useState<EventRights>({ read: r.read, create: r.create, modify: r.modify, delete: r.delete });
  const partial = asked.some((k) => !grant[k]);
  const nothing = asked.every((k) => !grant[k]);
  return (
    <li className="cc-request" data-request={r.eventType} data-app={appName}>
      <p className="cc-request-head">
        <Trans
          i18nKey="controlCentre.requests.from"
          values={{ app: appName, type: r.eventType, rights: rightsText(r) }}
          components={{
            // Trans puts the interpolated text inside these elements.
            app: appLink ? <Link className="cc-strong" to={ccPath.app(r.appId)} /> : <strong />,
            type: <Link className="cc-mono" to={ccPath.type(r.eventType)} />,
          }}
        />
      </p>
      {r.message ? <blockquote className="cc-message">{r.message}</blockquote> : <p className="muted small">{t('controlCentre.requests.noMessage')}</p>}
      {asked.length > 1 && (
        <fieldset className="cc-grant">
          <legend className="small">{t('controlCentre.requests.grantLegend')}</legend>
          {asked.map((k) => (
            <label key={k} className="cc-grant-right">
              <input type="checkbox" checked={grant[k]} onChange={(e) => setGrant((g) => ({ ...g, [k]: e.target.checked }))} aria-label={t('controlCentre.requests.grantRight', { right: t(`controlCentre.rights.${k}`), type: r.eventType })} />{' '}
              {t(`controlCentre.rights.${k}`)}
            </label>
          ))}
        </fieldset>
      )}
      <div className="row">
        <Button variant="primary" pending={busy} disabled={nothing} onClick={() => onDecide(r, 'approve', partial ? grant : undefined)} aria-label={t(partial ? 'controlCentre.requests.approvePartLabel' : 'controlCentre.requests.approveLabel', { app: appName, type: r.eventType })}>
          {t(partial ? 'controlCentre.requests.approvePart' : 'controlCentre.requests.approve')}
        </Button>
        <Button pending={busy} onClick={() => onDecide(r, 'revoke')} aria-label={t('controlCentre.requests.declineLabel', { app: appName, type: r.eventType })}>
          {t('controlCentre.requests.decline')}
        </Button>
        <span className="muted small">
          {t('controlCentre.app.asked')} <DateTime value={r.createdAt} />
        </span>
      </div>
    </li>
  );
}
