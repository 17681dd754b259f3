import nodemailer, { type Transporter } from 'nodemailer';

/** Localised invitation mails (plain text and HTML): the link, what it is, until when. */
const TEMPLATES = {
  en: {
    subject: (title: string) => `A questionnaire for you: ${title}`,
    body: (title: string, link: string, until: string) => [`Hello,`, ``, `You are invited to fill in "${title}". Open this link on your phone or computer:`, ``, link, ``, `The link works until ${until}. Your answers are encrypted in your browser before they are sent.`, ``, `If you did not expect this message, you can ignore it.`],
    date: 'en-GB',
  },
  fr: {
    subject: (title: string) => `Un questionnaire pour vous : ${title}`,
    body: (title: string, link: string, until: string) => [`Bonjour,`, ``, `Vous êtes invité·e à remplir « ${title} ». Ouvrez ce lien sur votre téléphone ou votre ordinateur :`, ``, link, ``, `Le lien est valable jusqu’au ${until}. Vos réponses sont chiffrées dans votre navigateur avant d’être envoyées.`, ``, `Si vous n’attendiez pas ce message, vous pouvez l’ignorer.`],
    date: 'fr-FR',
  },
} as const;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function invitation(language: string, title: string, link: string, expiresAt: Date) {
  const t = language === 'fr' ? TEMPLATES.fr : TEMPLATES.en;
  const until = new Intl.DateTimeFormat(t.date, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(expiresAt) + ' UTC';
  const lines = t.body(title, link, until);
  const html = lines.map((l) => (l === link ? `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` : l ? `<p>${escapeHtml(l)}</p>` : '')).join('\n');
  return { subject: t.subject(title), text: lines.join('\n'), html };
}

export class Mailer {
  private readonly transport: Transporter;
  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }
  async sendInvitation(to: string, language: string, title: string, link: string, expiresAt: Date): Promise<void> {
    await this.transport.sendMail({ from: this.from, to, ...invitation(language, title, link, expiresAt) });
  }
}
