import type gatewayEn from './gateway.en.js';

const gatewayFr: typeof gatewayEn = {
  checking: 'Vérification de votre navigateur avant le questionnaire… cela prend quelques secondes.',
  checkFailed: 'La vérification automatique a échoué.',
  retry: 'Réessayer',
  part: 'Partie {{n}} sur {{total}}',
  send: 'Envoyer mes réponses',
  sending: 'Chiffrement et envoi…',
  fixErrors: 'Certaines réponses sont à revoir : voyez les messages ci-dessous.',
  sealedNote: 'Vos réponses sont chiffrées sur cet appareil avant de le quitter ; seule l’équipe de recherche peut les lire.',
  resumeNote: 'Vous pouvez vous arrêter après chaque partie et revenir plus tard avec le même lien.',
  partSent: 'Partie envoyée. Merci !',
  next: 'Continuer',
  done: 'Terminé : vos réponses ont été envoyées. Merci ! Vous pouvez fermer cette page.',
  offline: 'Le service du questionnaire est injoignable pour le moment. Vos réponses sont conservées, chiffrées, dans ce navigateur et seront envoyées dès son retour. Gardez cette page ouverte ou revenez plus tard avec le même lien.',
  sendNow: 'Envoyer maintenant',
  expired: 'Ce lien a expiré. Demandez-en un nouveau à l’équipe qui vous l’a envoyé.',
  cancelled: 'Ce lien a été annulé. Vous n’avez rien d’autre à faire.',
  completed: 'Ce questionnaire a déjà été rempli. Merci !',
  notFound: 'Ce lien est introuvable. Vérifiez que l’adresse a été copiée en entier.',
  error: 'Une erreur s’est produite. Rechargez la page pour réessayer.',
};
export default gatewayFr;
