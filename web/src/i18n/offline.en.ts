/** Strings of offline work: the outbox, downloads for offline use, signing out with unsent work. fr: offline.fr.ts, same keys. */
const offlineEn = {
  title: 'Outbox and offline use',
  badge: 'Outbox',
  badgeWaiting: 'Outbox: {{count}} waiting',
  offline: 'Offline',
  offlineHint: 'You are offline. What you confirm is kept on this device and sent when the network is back.',
  openedOffline: 'Opened without a network, as {{username}}. What you confirm is kept on this device and sent when the network is back.',
  intro: 'What you confirmed on this device, waiting for the server. Items are sent in order, each once, as soon as the network allows; an item leaves this list only when the server has it.',
  summary_one: '{{count}} item waiting',
  summary_other: '{{count}} items waiting',
  empty: 'Nothing waiting: everything you confirmed has reached the server.',
  sendNow: 'Send now',
  state: {
    waiting: 'Waiting',
    sending: 'Sending…',
    failed: 'Failed: {{reason}}',
    conflict: 'Conflict: {{reason}}',
  },
  lastTry: 'last try: {{reason}}',
  confirmedAt: 'Confirmed',
  attempts_one: '{{count}} try',
  attempts_other: '{{count}} tries',
  retry: 'Try again',
  copy: 'Copy its data',
  discard: 'Discard',
  discardQuestion: 'Delete it from this device? It has not reached the server.',
  conflictHelp: 'The server refused this because the registration changed hands while you were offline. Nothing was merged: copy your data out, then discard it or try again once it is assigned to you.',
  sent: 'Sent since this page opened',
  download: {
    title: 'Prepare for offline work',
    help: 'Downloads the registration forms, instruments and places you may use, and the registrations assigned to you, so you can work on them without a network. They are kept encrypted on this device until you sign out.',
    button: 'Download for offline use',
    done: 'Ready for offline use: {{types}} forms, {{instruments}} instruments, {{places}} places, {{assigned}} assigned registrations.',
    never: 'Not downloaded on this device yet.',
  },
  kinds: {
    create: 'Declaration · {{type}}',
    action: '{{action}} · {{tracking}}',
    record: 'Record · {{instrument}}',
  },
  queued: {
    title: 'Kept on this device',
    body: 'There is no connection to the server. This is saved, encrypted, in your outbox and will be sent on its own when the network is back, dated when you confirmed it.',
    open: 'Open the outbox',
  },
  signOut: {
    warning_one: '{{count}} item on this device has not reached the server (outbox or draft). Signing out deletes it from this device for good.',
    warning_other: '{{count}} items on this device have not reached the server (outbox or drafts). Signing out deletes them from this device for good.',
    confirm: 'Sign out and delete them',
    cancel: 'Stay signed in',
  },
  update: {
    ready: 'A new version of Cairn is ready; it opens on the next page load.',
  },
};

export default offlineEn;
