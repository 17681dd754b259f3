import { SaxesParser, type SaxesAttributeNS, type SaxesTagNS } from 'saxes';
import { AppError } from '../kernel/errors.js';

/**
 * Certificate templates are SVG written by an administrator, rendered on the server into PDFs
 * handed to citizens, and previewed in browsers. This checks a template with a real XML parser
 * (saxes: strict, non-validating, never expands entities) and rebuilds it from what it read, so
 * what reaches the renderer is exactly what was checked, never a second parser's reading of the
 * original bytes. Refused (certificate_template_invalid, with the line and what was refused):
 * DOCTYPE and entity declarations, scripts, event handlers, foreignObject and any element outside
 * a known list of drawing elements, references (href, url(), CSS) to anything but the document's
 * own #ids and embedded PNG/JPEG `data:` images, `javascript:` anywhere, CSS imports and escapes.
 * Stripped (harmless and common in files saved by editors): comments, processing instructions,
 * <metadata>, and Inkscape/Sodipodi elements and attributes. See docs/certificates.md.
 */

export const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
/** Editor bookkeeping: dropped with everything inside. */
const EDITOR_NS = new Set(['http://www.inkscape.org/namespaces/inkscape', 'http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd']);

export const MAX_TEMPLATE_BYTES = 5 * 1024 * 1024;
const MAX_DEPTH = 64;
const MAX_ELEMENTS = 20_000;

/** Drawing elements svg-to-pdfkit renders; anything else is refused rather than guessed at. */
const ELEMENTS = new Set([
  'svg', 'g', 'defs', 'symbol', 'use', 'title', 'desc', 'switch',
  'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon',
  'text', 'tspan', 'textPath', 'image',
  'linearGradient', 'radialGradient', 'stop', 'pattern', 'clipPath', 'mask', 'marker', 'style',
]);
/** Elements whose `href` may point at something (in the document, or an embedded image). */
const REFERRING = new Set(['use', 'image', 'linearGradient', 'radialGradient', 'pattern', 'textPath']);

const INTERNAL_REF = /^#[A-Za-z_][\w.:-]{0,200}$/;
const DATA_IMAGE = /^data:image\/(png|jpeg|jpg);base64,[A-Za-z0-9+/\s]*={0,2}\s*$/;
/** A lone `{{path}}` placeholder, filled at render time and checked again then. */
const PLACEHOLDER = /^\{\{\s*[A-Za-z_][\w]*(\.(\[[^\]{}]{1,100}\]|[A-Za-z_]\w*))*\s*\}\}$/;

export interface SanitizeOptions {
  /** Accept a lone `{{placeholder}}` as an href (templates); the rendered output is checked without it. */
  placeholders?: boolean;
}

export interface SvgElement {
  name: string;
  attrs: [string, string][];
  children: (SvgElement | string)[];
}

const refuse = (line: number, what: string, detail?: string): never => {
  throw new AppError('certificate_template_invalid', `The certificate template is refused: ${what}${line ? ` (line ${line})` : ''}`, [{ pointer: '/svg', line, message: what, ...(detail ? { refused: detail.slice(0, 120) } : {}) }]);
};

/** What a CSS text may not do: fetch, import, or hide either behind escapes. */
function checkCss(css: string, line: number, where: string) {
  if (css.includes('\\')) refuse(line, `CSS escapes are not allowed in ${where}`);
  const text = css.replace(/\/\*[\s\S]*?\*\//g, ' ');
  if (/@import/i.test(text)) refuse(line, `@import is not allowed in ${where}`);
  if (/(expression|image-set|image|cross-fade|element|src)\s*\(/i.test(text.replace(/url\s*\(/gi, ''))) refuse(line, `CSS functions that load resources are not allowed in ${where}`);
  if (/-moz-binding|behavior\s*:/i.test(text)) refuse(line, `CSS bindings are not allowed in ${where}`);
  for (const m of text.matchAll(/url\s*\(\s*(['"]?)([^'")]*)\1\s*\)/gi)) {
    if (!INTERNAL_REF.test(m[2]!.trim())) refuse(line, `url() may only point inside the document (#id), not to ${m[2]!.trim().slice(0, 60) || 'nothing'}`, m[0]);
  }
  // A url( that the pattern above did not read (unbalanced quotes, nesting) is refused too.
  const urls = (text.match(/url\s*\(/gi) ?? []).length;
  const read = [...text.matchAll(/url\s*\(\s*(['"]?)([^'")]*)\1\s*\)/gi)].length;
  if (urls !== read) refuse(line, `a url() in ${where} could not be read`);
}

const hasJavascriptUri = (v: string) => /j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:|vbscript\s*:/i.test(v.replace(/[\u0000-\u001f]/g, ''));

export function sanitizeSvgTemplate(svg: string, opts: SanitizeOptions = { placeholders: true }): string {
  return serializeSvg(readSvg(svg, opts));
}

/** The checked document as a tree (the renderer adjusts the root's size before serialising). */
export function readSvg(svg: string, opts: SanitizeOptions = { placeholders: true }): SvgElement {
  if (typeof svg !== 'string' || !svg.trim()) refuse(0, 'it is empty');
  if (Buffer.byteLength(svg) > MAX_TEMPLATE_BYTES) refuse(0, `it is larger than ${MAX_TEMPLATE_BYTES / 1024 / 1024} MiB`);

  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: SvgElement[] = [];
  let root: SvgElement | undefined;
  /** Depth inside a stripped subtree (metadata, editor elements): >0 means drop what comes. */
  let skipping = 0;
  let count = 0;
  let failure: unknown;

  const line = () => parser.line;
  const append = (text: string) => {
    if (skipping || !stack.length) return;
    const kids = stack[stack.length - 1]!.children;
    if (typeof kids[kids.length - 1] === 'string') kids[kids.length - 1] += text;
    else kids.push(text);
  };

  parser.on('doctype', () => refuse(line(), 'a DOCTYPE (and entity declarations) is not allowed'));
  parser.on('processinginstruction', () => {}); // stripped (xml-stylesheet could fetch a stylesheet)
  parser.on('comment', () => {});
  parser.on('text', (t) => append(t));
  parser.on('cdata', (t) => append(t));
  parser.on('opentag', (tag: SaxesTagNS) => {
    const ns = tag.uri || (tag.prefix ? '' : SVG_NS); // an SVG without xmlns is read as SVG
    const local = tag.local;
    if (skipping || EDITOR_NS.has(ns) || (ns === SVG_NS && local === 'metadata')) {
      skipping++;
      return;
    }
    if (++count > MAX_ELEMENTS) refuse(line(), `more than ${MAX_ELEMENTS} elements`);
    if (stack.length >= MAX_DEPTH) refuse(line(), `elements nested deeper than ${MAX_DEPTH}`);
    if (ns !== SVG_NS) refuse(line(), `element <${tag.name}> is not SVG`);
    if (!ELEMENTS.has(local)) refuse(line(), `element <${local}> is not allowed`);
    if (!stack.length && local !== 'svg') refuse(line(), 'the document must be an <svg> element');
    const attrs: [string, string][] = [];
    for (const a of Object.values(tag.attributes) as SaxesAttributeNS[]) {
      const out = checkAttribute(local, a, line(), opts);
      if (out) attrs.push(out);
    }
    const el: SvgElement = { name: local, attrs, children: [] };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    if (skipping) {
      skipping--;
      return;
    }
    const el = stack.pop()!;
    if (el.name === 'style') checkCss(el.children.filter((c): c is string => typeof c === 'string').join(''), line(), '<style>');
    if (el.name === 'style' && el.children.some((c) => typeof c !== 'string')) refuse(line(), '<style> may hold only CSS');
  });
  parser.on('error', (e) => {
    failure ??= e;
  });

  try {
    parser.write(svg).close();
  } catch (e) {
    if (e instanceof AppError) throw e;
    failure ??= e;
  }
  if (failure instanceof AppError) throw failure;
  if (failure) refuse(line(), `it is not well-formed XML: ${String((failure as Error).message ?? failure).replace(/^[^:]*:\d+:\d+: /, '').slice(0, 160)}`);
  if (!root) refuse(0, 'it has no <svg> element');
  return root!;
}

function checkAttribute(element: string, a: SaxesAttributeNS, line: number, opts: SanitizeOptions): [string, string] | null {
  const { uri, local, value } = a;
  if (uri === XMLNS_NS || a.name === 'xmlns') return null; // namespaces are re-declared on output
  if (EDITOR_NS.has(uri)) return null;
  if (/^on/i.test(local)) refuse(line, `event handler attribute ${a.name} is not allowed`);
  if (hasJavascriptUri(value)) refuse(line, `a script URI in ${a.name} is not allowed`, value);
  let name: string;
  if (uri === XLINK_NS && local === 'href') name = 'xlink:href';
  else if (uri === XML_NS && local === 'space') name = 'xml:space';
  else if (uri === XML_NS && local === 'lang') name = 'xml:lang';
  else if (uri === '') name = local;
  else return refuse(line, `attribute ${a.name} is not allowed`);
  if (!/^[A-Za-z_][\w.:-]*$/.test(name)) refuse(line, `attribute ${a.name} is not allowed`);
  if (local === 'href') {
    const v = value.trim();
    if (!REFERRING.has(element)) refuse(line, `<${element}> may not link anywhere`, v);
    const ok = INTERNAL_REF.test(v) || (element === 'image' && DATA_IMAGE.test(v)) || (opts.placeholders && PLACEHOLDER.test(v));
    if (!ok) refuse(line, element === 'image' ? 'images must be embedded PNG or JPEG data: URIs' : 'references may only point inside the document (#id)', v.slice(0, 80));
    return [name, element === 'image' && v.startsWith('data:') ? v.replace(/\s+/g, '') : v];
  }
  if (local === 'style') checkCss(value, line, 'a style attribute');
  else if (/url\s*\(/i.test(value)) checkCss(value, line, `attribute ${a.name}`);
  if (local === 'base' || local === 'src') refuse(line, `attribute ${a.name} is not allowed`);
  return [name, value];
}

const escText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string) => escText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');

export function serializeSvg(root: SvgElement): string {
  const out: string[] = [];
  const walk = (el: SvgElement, top: boolean) => {
    out.push(`<${el.name}`);
    if (top) out.push(` xmlns="${SVG_NS}" xmlns:xlink="${XLINK_NS}"`);
    for (const [k, v] of el.attrs) out.push(` ${k}="${escAttr(v)}"`);
    if (!el.children.length) {
      out.push('/>');
      return;
    }
    out.push('>');
    for (const c of el.children) {
      if (typeof c === 'string') out.push(escText(c));
      else walk(c, false);
    }
    out.push(`</${el.name}>`);
  };
  walk(root, true);
  return out.join('');
}
