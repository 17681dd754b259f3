import type offlineEn from './offline.en.js';

/** Chaînes du travail hors ligne (mêmes clés que offline.en.ts). */
const offlineFr: typeof offlineEn = {
  title: 'Boîte d’envoi et travail hors ligne',
  badge: 'Boîte d’envoi',
  badgeWaiting: 'Boîte d’envoi : {{count}} en attente',
  offline: 'Hors ligne',
  offlineHint: 'Vous êtes hors ligne. Ce que vous confirmez est gardé sur cet appareil et envoyé au retour du réseau.',
  openedOffline: 'Ouvert sans réseau, en tant que {{username}}. Ce que vous confirmez est gardé sur cet appareil et envoyé au retour du réseau.',
  intro: 'Ce que vous avez confirmé sur cet appareil et qui attend le serveur. Les éléments partent dans l’ordre, chacun une seule fois, dès que le réseau le permet ; un élément ne quitte cette liste que lorsque le serveur l’a reçu.',
  summary_one: '{{count}} élément en attente',
  summary_other: '{{count}} éléments en attente',
  empty: 'Rien en attente : tout ce que vous avez confirmé est arrivé au serveur.',
  sendNow: 'Envoyer maintenant',
  state: {
    waiting: 'En attente',
    sending: 'Envoi…',
    failed: 'Échec : {{reason}}',
    conflict: 'Conflit : {{reason}}',
  },
  lastTry: 'dernier essai : {{reason}}',
  uploading: 'Envoi de la pièce jointe {{n}} sur {{total}}…',
  attachments_one: 'Pièce jointe : {{done}} sur {{count}} envoyée (gardée sur cet appareil jusqu’à l’envoi de la déclaration)',
  attachments_other: 'Pièces jointes : {{done}} sur {{count}} envoyées (gardées sur cet appareil jusqu’à l’envoi de la déclaration)',
  attachmentMissing: 'le fichier n’est plus sur cet appareil',
  confirmedAt: 'Confirmé',
  attempts_one: '{{count}} essai',
  attempts_other: '{{count}} essais',
  retry: 'Réessayer',
  copy: 'Copier ses données',
  discard: 'Abandonner',
  discardQuestion: 'Le supprimer de cet appareil ? Il n’est pas arrivé au serveur.',
  conflictHelp: 'Le serveur a refusé car l’enregistrement a changé de mains pendant que vous étiez hors ligne. Rien n’a été fusionné : copiez vos données, puis abandonnez l’élément ou réessayez quand il vous sera de nouveau attribué.',
  sent: 'Envoyés depuis l’ouverture de cette page',
  download: {
    title: 'Préparer le travail hors ligne',
    help: 'Télécharge les formulaires d’enregistrement, instruments et lieux que vous pouvez utiliser, ainsi que les enregistrements qui vous sont attribués, pour y travailler sans réseau. Ils restent chiffrés sur cet appareil jusqu’à votre déconnexion.',
    button: 'Télécharger pour le hors ligne',
    done: 'Prêt pour le hors ligne : {{types}} formulaires, {{instruments}} instruments, {{places}} lieux, {{assigned}} enregistrements attribués.',
    never: 'Pas encore téléchargé sur cet appareil.',
  },
  kinds: {
    create: 'Déclaration · {{type}}',
    action: '{{action}} · {{tracking}}',
    record: 'Saisie · {{instrument}}',
  },
  queued: {
    title: 'Gardé sur cet appareil',
    body: 'Pas de connexion au serveur. C’est enregistré, chiffré, dans votre boîte d’envoi et partira tout seul au retour du réseau, daté du moment où vous l’avez confirmé.',
    open: 'Ouvrir la boîte d’envoi',
  },
  signOut: {
    warning_one: '{{count}} élément de cet appareil n’est pas arrivé au serveur (boîte d’envoi ou brouillon). Se déconnecter le supprime définitivement de cet appareil.',
    warning_other: '{{count}} éléments de cet appareil ne sont pas arrivés au serveur (boîte d’envoi ou brouillons). Se déconnecter les supprime définitivement de cet appareil.',
    confirm: 'Se déconnecter et les supprimer',
    cancel: 'Rester connecté',
  },
  update: {
    ready: 'Une nouvelle version de Cairn est prête ; elle s’ouvre au prochain chargement de page.',
  },
};

export default offlineFr;
