/// <reference path="./svg-to-pdfkit.d.ts" />
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';
import QRCode from 'qrcode';
import { AppError } from '../kernel/errors.js';
import { readSvg, serializeSvg, type SvgElement } from './certificates.sanitize.js';

const FONTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fonts');

/** Fonts embedded in every certificate (subset to the glyphs used); DejaVu covers French and far beyond. */
export interface CertificateFonts {
  sans: string;
  sansBold: string;
  serif: string;
  serifBold: string;
}
export const DEFAULT_FONTS: CertificateFonts = {
  sans: path.join(FONTS_DIR, 'DejaVuSans.ttf'),
  sansBold: path.join(FONTS_DIR, 'DejaVuSans-Bold.ttf'),
  serif: path.join(FONTS_DIR, 'DejaVuSerif.ttf'),
  serifBold: path.join(FONTS_DIR, 'DejaVuSerif-Bold.ttf'),
};

export interface RenderCertificateInput {
  /** The SVG template with {{placeholders}} (docs/certificates.md). */
  svgTemplate: string;
  /** What the placeholders read: e.g. { registrationNumber, data: { 'child.firstName': ... } }. */
  data: Record<string, unknown>;
  /** Encoded in the QR code, which the template places with <image href="{{qrCode}}" .../>. */
  qrUrl: string;
  fonts?: Partial<CertificateFonts>;
  /** Document title in the PDF's metadata. */
  title?: string;
}

/** The QR code as a PNG data URI: 8 pixels a module, a 2-module margin, medium error correction. */
export const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2, scale: 8 } as const;

const BLOCK_SCOPES = new Set(['each', 'with']);
const HELPERS = {
  /** {{date value}} or {{date value 'fr'}}: an ISO date as "12 March 2024" / "12 mars 2024". */
  date(value: unknown, ...rest: unknown[]) {
    const lang = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : 'en';
    if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\d/.test(value)) return value == null ? '' : String(value);
    const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
    if (Number.isNaN(d.getTime())) return value;
    return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(d);
  },
  /** {{upper value}} */
  upper(value: unknown) {
    return value == null ? '' : String(value).toLocaleUpperCase();
  },
  /** {{or a b 'fallback'}}: the first value that is not empty. */
  or(...args: unknown[]) {
    for (const v of args.slice(0, -1)) if (v !== null && v !== undefined && v !== '') return v;
    return '';
  },
};

/**
 * An isolated Handlebars with only our helpers: no `log`, no `lookup`, no partials, no decorators.
 * Values are HTML-escaped (& < > " ' ` =), which is XML-safe in text and in attribute values,
 * so data can never add markup to the SVG.
 */
const hbs = Handlebars.create();
hbs.unregisterHelper('log');
hbs.unregisterHelper('lookup');
for (const [name, fn] of Object.entries(HELPERS)) hbs.registerHelper(name, fn);
const KNOWN_HELPERS = { if: true, unless: true, each: true, with: true, date: true, upper: true, or: true } as const;

const invalid = (message: string, detail?: string): never => {
  throw new AppError('certificate_template_invalid', `The certificate template is refused: ${message}`, [{ pointer: '/svg', message, ...(detail ? { refused: detail } : {}) }]);
};

type Node = { type: string; [k: string]: unknown };
/**
 * Refuses what Handlebars could do beyond filling in escaped values: raw output ({{{x}}}, {{&x}}),
 * partials, decorators, unknown helpers; and, outside #each/#with, names the data does not have
 * (a typo would otherwise print nothing on a legal document).
 */
function checkTemplateAst(template: string, topLevel: Set<string>) {
  let ast: Node;
  try {
    ast = hbs.parse(template) as unknown as Node;
  } catch (e) {
    return invalid(`a placeholder is malformed: ${(e as Error).message.split('\n')[0]!.slice(0, 160)}`);
  }
  const walk = (n: unknown, scoped: boolean): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach((x) => walk(x, scoped));
    const node = n as Node;
    switch (node.type) {
      case 'PartialStatement':
      case 'PartialBlockStatement':
      case 'Decorator':
      case 'DecoratorBlock':
        return invalid('partials and decorators are not allowed');
      case 'MustacheStatement':
        if (node.escaped === false) return invalid('raw (unescaped) placeholders {{{ }}} or {{& }} are not allowed');
        break;
      case 'PathExpression': {
        const p = node as unknown as { data: boolean; depth: number; parts: string[]; original: string; head?: { original?: string } };
        if (!p.data && !scoped && p.depth === 0 && p.parts.length && !(p.parts[0]! in KNOWN_HELPERS) && !topLevel.has(p.parts[0]!)) {
          return invalid(`the placeholder ${p.original} names nothing the certificate has`, p.original);
        }
        if (p.parts.some((x) => x === '__proto__' || x === 'constructor' || x === 'prototype')) return invalid(`the placeholder ${p.original} is not allowed`);
        return;
      }
    }
    const helper = (node.type === 'MustacheStatement' || node.type === 'BlockStatement' || node.type === 'SubExpression') ? (node.path as { original?: string; type?: string }) : undefined;
    const isCall = helper && ((node.params as unknown[])?.length || node.hash || node.type === 'BlockStatement' || node.type === 'SubExpression');
    if (isCall && helper.type === 'PathExpression' && !(helper.original! in KNOWN_HELPERS)) return invalid(`unknown helper ${helper.original}`, helper.original);
    const opensScope = node.type === 'BlockStatement' && BLOCK_SCOPES.has(helper?.original ?? '');
    for (const [k, v] of Object.entries(node)) {
      if (k === 'loc' || (isCall && k === 'path')) continue;
      walk(v, scoped || (opensScope && (k === 'program' || k === 'inverse')));
    }
  };
  walk(ast, false);
}

/** Length of a root size attribute in points, and in the SVG's own user units (px). */
function length(v: string | undefined): { pt: number; user: number } | null {
  const m = v ? /^\s*([0-9]*\.?[0-9]+)\s*(mm|cm|in|pt|px|pc)?\s*$/.exec(v) : null;
  if (!m) return null;
  const n = Number(m[1]);
  const pt = { mm: 72 / 25.4, cm: 720 / 25.4, in: 72, pt: 1, pc: 12, px: 0.75 }[m[2] ?? 'pt']!;
  const user = { mm: 96 / 25.4, cm: 960 / 25.4, in: 96, pt: 4 / 3, pc: 16, px: 1 }[m[2] ?? 'px']!;
  return n > 0 && n < 100_000 ? { pt: n * pt, user: n * user } : null;
}

/**
 * The page is the template's size: `width`/`height` in mm, cm, in, pt or px (unitless numbers are
 * points, as in PDF, so width="595" height="842" is A4); A4 when absent. The root is rewritten to
 * that size in points with a viewBox, so svg-to-pdfkit draws it 1:1.
 */
function fitPage(root: SvgElement): { width: number; height: number } {
  const get = (k: string) => root.attrs.find(([n]) => n === k)?.[1];
  const w = length(get('width'));
  const h = length(get('height'));
  const width = w?.pt ?? 595.28;
  const height = h?.pt ?? 841.89;
  const viewBox = get('viewBox') ?? (w && h ? `0 0 ${get('width')!.match(/[a-z]/) ? w.user : parseFloat(get('width')!)} ${get('height')!.match(/[a-z]/) ? h.user : parseFloat(get('height')!)}` : undefined);
  root.attrs = root.attrs.filter(([n]) => n !== 'width' && n !== 'height' && n !== 'viewBox');
  root.attrs.push(['width', String(width)], ['height', String(height)]);
  if (viewBox) root.attrs.push(['viewBox', viewBox]);
  return { width, height };
}

/**
 * Renders a certificate: the template is checked (sanitizeSvgTemplate's rules), its placeholders
 * filled with escaped values, the result checked again (so nothing the data brings can add a
 * reference), then drawn with embedded fonts (real, selectable text) and embedded images.
 */
export async function renderCertificatePdf(input: RenderCertificateInput): Promise<Buffer> {
  const template = serializeSvg(readSvg(input.svgTemplate, { placeholders: true }));
  const qrCode = await QRCode.toDataURL(input.qrUrl, QR_OPTIONS);
  const context: Record<string, unknown> = { ...input.data, qrCode, qr: qrCode, verifyUrl: input.qrUrl };
  checkTemplateAst(template, new Set(Object.keys(context)));

  let filled: string;
  try {
    filled = hbs.compile(template, { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true, noEscape: false, strict: false, preventIndent: true })(context, {
      allowProtoPropertiesByDefault: false,
      allowProtoMethodsByDefault: false,
    });
  } catch (e) {
    return invalid(`it could not be filled in: ${(e as Error).message.split('\n')[0]!.slice(0, 160)}`);
  }
  const root = readSvg(filled, { placeholders: false });
  const page = fitPage(root);
  const svg = serializeSvg(root);

  const fonts = { ...DEFAULT_FONTS, ...input.fonts };
  const doc = new PDFDocument({ size: [page.width, page.height], margin: 0, compress: true, info: { Title: input.title ?? 'Certificate', Producer: 'Cairn', Creator: 'Cairn' } });
  doc.registerFont('sans', fonts.sans);
  doc.registerFont('sans-bold', fonts.sansBold);
  doc.registerFont('serif', fonts.serif);
  doc.registerFont('serif-bold', fonts.serifBold);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  SVGtoPDF(doc, svg, 0, 0, {
    width: page.width,
    height: page.height,
    assumePt: true,
    // Every family maps to an embedded font, never to a name pdfkit would open as a file path.
    fontCallback: (family: string, bold: boolean) => {
      const serif = /serif|times|georgia|garamond|roman/i.test(family ?? '') && !/sans/i.test(family ?? '');
      return `${serif ? 'serif' : 'sans'}${bold ? '-bold' : ''}`;
    },
    // Only embedded images (the sanitizer already refused the rest); never a path on this server.
    imageCallback: (link: string) => (/^data:image\/(png|jpe?g);base64,/.test(link) ? link.replace(/\s+/g, '') : ''),
    documentCallback: () => [],
    warningCallback: () => {},
  });
  doc.end();
  return done;
}
