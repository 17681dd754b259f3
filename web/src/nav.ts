/**
 * The shell's navigation. A new capability adds one item here (and its page to routes.tsx);
 * items the signed-in user has no scope for are hidden.
 */
export interface NavItem {
  to: string;
  /** i18n key of the label. */
  label: string;
  /** Scope needed to see the item. */
  requires?: string;
  /** Match the path exactly (for '/'). */
  end?: boolean;
}

export const navItems: NavItem[] = [
  { to: '/', label: 'nav.home', end: true },
  { to: '/ledger', label: 'nav.ledger', requires: 'events:read' },
  { to: '/datahub', label: 'datahub.nav', requires: 'records:read' },
  { to: '/datasets', label: 'datasets.nav', requires: 'datasets:read' },
  { to: '/registrations', label: 'registrations.nav', requires: 'registrations:read' },
  { to: '/views', label: 'views.nav', requires: 'views:manage' },
  { to: '/control-centre', label: 'controlCentre.nav', requires: 'apps:manage' },
  { to: '/workspaces', label: 'people.workspaces.nav', requires: 'workspaces:read' },
  { to: '/account', label: 'nav.account' },
  { to: '/admin/users', label: 'nav.users', requires: 'users:manage' },
  { to: '/system', label: 'system.nav', requires: 'settings:manage' },
  { to: '/webhooks', label: 'webhooks.nav', requires: 'webhooks:manage' },
];
