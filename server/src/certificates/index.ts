import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Certificates: SVG templates with {{placeholders}} rendered into PDFs with selectable text,
 * embedded fonts and images, and a QR code (docs/certificates.md). A library: the registrations
 * domain decides who may render what and with which data.
 */
export { sanitizeSvgTemplate, MAX_TEMPLATE_BYTES } from './certificates.sanitize.js';
export { renderCertificatePdf, DEFAULT_FONTS, QR_OPTIONS, type RenderCertificateInput, type CertificateFonts } from './certificates.render.js';

const TEMPLATES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates');

/** The shipped default templates (en/fr wording, a placeholder coat of arms, a signature line). */
export function defaultCertificateTemplate(kind: 'birth' | 'death'): string {
  return fs.readFileSync(path.join(TEMPLATES_DIR, `${kind}.svg`), 'utf8');
}
