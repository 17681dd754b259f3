/**
 * The pages a closed link answers instead of the form: plain HTML made here (no script needed),
 * in the assignment's language, with the status that says why (410 expired, 409 cancelled or
 * completed, 404 unknown).
 */
export type ClosedReason = 'expired' | 'cancelled' | 'completed' | 'unknown';

const TEXT = {
  en: {
    expired: ['This link has expired', 'The time to fill in this questionnaire is over. If you still want to take part, ask the team who sent it for a new link.'],
    cancelled: ['This link was cancelled', 'The team who sent this questionnaire cancelled it. There is nothing more to do.'],
    completed: ['Already completed', 'This questionnaire has been filled in and sent. Thank you!'],
    unknown: ['Link not found', 'Check that the address was copied in full, or ask the team who sent it for a new link.'],
  },
  fr: {
    expired: ['Ce lien a expiré', 'Le délai pour remplir ce questionnaire est passé. Si vous souhaitez encore participer, demandez un nouveau lien à l’équipe qui vous l’a envoyé.'],
    cancelled: ['Ce lien a été annulé', 'L’équipe qui vous a envoyé ce questionnaire l’a annulé. Vous n’avez rien d’autre à faire.'],
    completed: ['Déjà rempli', 'Ce questionnaire a été rempli et envoyé. Merci !'],
    unknown: ['Lien introuvable', 'Vérifiez que l’adresse a été copiée en entier, ou demandez un nouveau lien à l’équipe qui vous l’a envoyé.'],
  },
} as const;

export const CLOSED_STATUS: Record<ClosedReason, number> = { expired: 410, cancelled: 409, completed: 409, unknown: 404 };

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function pickLanguage(language: string | undefined, acceptLanguage: string | undefined): 'en' | 'fr' {
  if (language === 'fr' || language === 'en') return language;
  return /^\s*fr/i.test(acceptLanguage ?? '') ? 'fr' : 'en';
}

export function closedPage(reason: ClosedReason, lang: 'en' | 'fr'): string {
  const [title, body] = TEXT[lang][reason];
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:2rem 1.25rem;color:#1f2933;background:#f7f7f5}main{max-width:32rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin:0 0 .75rem}p{line-height:1.5;margin:0}</style>
</head><body><main data-closed="${reason}"><h1>${escape(title)}</h1><p>${escape(body)}</p></main></body></html>`;
}
