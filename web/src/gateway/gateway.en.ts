/** Strings of the participant's page (served by the gateway). fr: gateway.fr.ts, same keys. */
const gatewayEn = {
  checking: 'Checking your browser before the questionnaire… this takes a few seconds.',
  checkFailed: 'The automatic check did not pass.',
  retry: 'Try again',
  part: 'Part {{n}} of {{total}}',
  send: 'Send my answers',
  sending: 'Encrypting and sending…',
  fixErrors: 'Some answers need attention: see the messages below.',
  sealedNote: 'Your answers are encrypted on this device before they leave it; only the research team can read them.',
  resumeNote: 'You can stop after any part and come back later with the same link.',
  partSent: 'Part sent. Thank you!',
  next: 'Continue',
  done: 'All done: your answers were sent. Thank you! You can close this page.',
  offline: 'The questionnaire service cannot be reached right now. Your answers are kept, encrypted, in this browser and will be sent when it is back. Keep this page open or come back later with the same link.',
  sendNow: 'Send now',
  expired: 'This link has expired. Ask the team who sent it for a new one.',
  cancelled: 'This link was cancelled. There is nothing more to do.',
  completed: 'This questionnaire was already completed. Thank you!',
  notFound: 'This link was not found. Check that the address was copied in full.',
  error: 'Something went wrong. Reload the page to try again.',
};
export default gatewayEn;
