import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import { AppError } from '../kernel/errors.js';
import { defaultCertificateTemplate, renderCertificatePdf, sanitizeSvgTemplate, QR_OPTIONS } from './index.js';

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const wrap = (inner: string, attrs = '') => `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"${attrs}>${inner}</svg>`;

function refusal(svg: string): { message: string; details: unknown } {
  try {
    sanitizeSvgTemplate(svg);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('certificate_template_invalid');
    expect((e as AppError).status).toBe(422);
    return { message: (e as AppError).message, details: (e as AppError).details };
  }
  throw new Error(`accepted: ${svg.slice(0, 120)}`);
}

describe('sanitizeSvgTemplate', () => {
  const hostile: [string, string, RegExp][] = [
    ['script element', wrap('<script>alert(1)</script>'), /<script> is not allowed/],
    ['script in a foreign namespace', wrap('<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>'), /not SVG/],
    ['onload on the root', wrap('<rect/>', ' onload="alert(1)"'), /event handler attribute onload/],
    ['onclick in upper case', wrap('<rect ONCLICK="alert(1)"/>'), /event handler attribute ONCLICK/],
    ['foreignObject', wrap('<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'), /<foreignObject> is not allowed/],
    ['external image', wrap('<image href="https://evil.example/track.png" width="1" height="1"/>'), /embedded PNG or JPEG/],
    ['external xlink:href on use', wrap('<use xlink:href="https://evil.example/sprite.svg#a"/>'), /only point inside the document/],
    ['local file as image', wrap('<image href="/etc/passwd" width="1" height="1"/>'), /embedded PNG or JPEG/],
    ['svg data URI image', wrap('<image href="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0Lz48L3N2Zz4=" width="1" height="1"/>'), /embedded PNG or JPEG/],
    ['javascript: URI', wrap('<use href="javascript:alert(1)"/>'), /script URI/],
    ['javascript: URI split by whitespace', wrap('<use href="java\tscript:alert(1)"/>'), /script URI/],
    ['link element a', wrap('<a href="https://evil.example"><text>x</text></a>'), /<a> is not allowed/],
    ['DOCTYPE', `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">${wrap('<rect/>')}`, /DOCTYPE/],
    ['billion laughs', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>${wrap('<text>&lol3;</text>')}`, /DOCTYPE/],
    ['external entity', `<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${wrap('<text>&xxe;</text>')}`, /DOCTYPE/],
    ['undeclared entity', wrap('<text>&xxe;</text>'), /not well-formed/],
    ['CSS url() in a style element', wrap('<style>rect { fill: url(https://evil.example/x.svg#p) }</style><rect/>'), /url\(\) may only point inside/],
    ['CSS @import', wrap('<style>@import "https://evil.example/x.css";</style>'), /@import/],
    ['CSS url() in a style attribute', wrap('<rect style="fill:url(\'//evil.example/p\')"/>'), /url\(\) may only point inside/],
    ['url() in a presentation attribute', wrap('<rect fill="url(http://evil.example/#g)"/>'), /url\(\) may only point inside/],
    ['CSS escape hiding url', wrap('<rect style="fill:u\\72l(http://evil.example)"/>'), /CSS escapes/],
    ['CSS image-set', wrap('<style>rect { background: image-set("https://evil.example/a.png" 1x) }</style>'), /load resources/],
    ['feImage filter', wrap('<filter id="f"><feImage href="https://evil.example/a.png"/></filter>'), /<filter> is not allowed/],
    ['xml:base', wrap('<use xml:base="https://evil.example/" href="#a"/>'), /attribute xml:base/],
    ['not SVG at all', '<html><body>hi</body></html>', /<html> is not allowed/],
    ['not XML', '<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', /not well-formed/],
    ['markup in style', wrap('<style><rect/></style>'), /only CSS/],
    ['href on a rect', wrap('<rect href="#a"/>'), /may not link anywhere/],
    ['iframe via SVG namespace', wrap('<iframe src="https://evil.example"/>'), /<iframe> is not allowed/],
  ];
  it.each(hostile)('refuses %s', (_name, svg, reason) => {
    const r = refusal(svg);
    expect(r.message).toMatch(reason);
    expect(r.details).toEqual([expect.objectContaining({ pointer: '/svg', line: expect.any(Number) })]);
  });

  it('refuses an empty or oversized template', () => {
    expect(refusal('').message).toMatch(/empty/);
    expect(refusal(wrap(`<text>${'x'.repeat(6 * 1024 * 1024)}</text>`)).message).toMatch(/larger than/);
  });

  it('keeps drawing, internal references, embedded images and placeholders; strips comments, metadata and editor data', () => {
    const svg = `<?xml version="1.0" encoding="UTF-8"?>
<!-- made by hand -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" width="210mm" height="297mm" viewBox="0 0 210 297" inkscape:version="1.2">
  <sodipodi:namedview id="nv"/>
  <metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient><path id="p" d="M0 0L10 10"/></defs>
  <style>.t { font-size: 5px; fill: url(#g) } a > b {}</style>
  <rect fill="url(#g)" style="stroke: url('#g')" width="10" height="10" inkscape:label="frame"/>
  <use xlink:href="#p"/>
  <image href="data:image/png;base64,${PNG_1PX}" width="5" height="5"/>
  <image href="{{qrCode}}" width="30" height="30"/>
  <text class="t" xml:space="preserve">Né(e) le {{date data.[child.dob] 'fr'}} &amp; &lt;ok&gt;</text>
</svg>`;
    const out = sanitizeSvgTemplate(svg);
    expect(out).not.toMatch(/inkscape|sodipodi|metadata|made by hand|<\?xml/);
    expect(out).toContain('xlink:href="#p"');
    expect(out).toContain(`href="data:image/png;base64,${PNG_1PX}"`);
    expect(out).toContain('href="{{qrCode}}"');
    expect(out).toContain("Né(e) le {{date data.[child.dob] 'fr'}} &amp; &lt;ok&gt;");
    expect(out).toContain('a &gt; b');
    // What comes out reads back to itself: the renderer sees exactly what was checked.
    expect(sanitizeSvgTemplate(out)).toBe(out);
    // A placeholder href is a template's privilege: once filled, only data: images pass.
    expect(() => sanitizeSvgTemplate(wrap('<image href="{{qrCode}}"/>'), { placeholders: false })).toThrow(/embedded PNG or JPEG/);
  });

  it('accepts the shipped templates', () => {
    for (const kind of ['birth', 'death'] as const) expect(sanitizeSvgTemplate(defaultCertificateTemplate(kind))).toContain('{{registrationNumber}}');
  });
});

function pdfText(pdf: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cert-'));
  fs.writeFileSync(path.join(dir, 'c.pdf'), pdf);
  try {
    return execFileSync('pdftotext', ['-enc', 'UTF-8', path.join(dir, 'c.pdf'), '-'], { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function pdfImages(pdf: Buffer): { width: number; height: number; data: Buffer; file: string }[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cert-'));
  fs.writeFileSync(path.join(dir, 'c.pdf'), pdf);
  try {
    execFileSync('pdfimages', ['-png', path.join(dir, 'c.pdf'), path.join(dir, 'img')]);
    return fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort().map((f) => {
      const png = PNG.sync.read(fs.readFileSync(path.join(dir, f)));
      return { width: png.width, height: png.height, data: png.data, file: f };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BIRTH_DATA = {
  registrationNumber: 'B20260001234',
  trackingId: 'K7QX2MP',
  registeredOn: '2026-03-14',
  eventLocation: 'Ibombo, Central Province',
  type: 'birth',
  data: { 'child.firstName': 'Zoë Hélène', 'child.lastName': 'Mwansa-Côté', 'child.sex': 'female', 'child.dob': '2026-02-01', 'mother.firstName': 'Bwalya', 'mother.lastName': 'Mwansa', 'father.firstName': 'Jérôme', 'father.lastName': 'Côté' },
  derived: {},
};

describe('renderCertificatePdf', () => {
  it('renders the shipped birth certificate with selectable text, accents and embedded fonts', async () => {
    const pdf = await renderCertificatePdf({ svgTemplate: defaultCertificateTemplate('birth'), data: BIRTH_DATA, qrUrl: 'https://crvs.example/verify/abc123' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdfText(pdf).replace(/\s+/g, ' ');
    for (const s of ['Birth certificate', 'Acte de naissance', 'B20260001234', 'Zoë Hélène MWANSA-CÔTÉ', 'Jérôme CÔTÉ', '1 February 2026', '1 février 2026', 'Ibombo, Central Province', '14 March 2026', '14 mars 2026', 'Enregistré le', 'officier de l’état civil', 'K7QX2MP']) expect(text).toContain(s);
    // Fonts are embedded (FontFile2: TrueType programs in the file), never a reference to a system font.
    expect(pdf.includes('/FontFile2')).toBe(true);
    expect(pdf.includes('/Helvetica')).toBe(false);
  });

  it('embeds the QR code as an image that encodes the verification URL, and the coat of arms', async () => {
    const qrUrl = 'https://crvs.example/verify/Zx81-qq';
    const pdf = await renderCertificatePdf({ svgTemplate: defaultCertificateTemplate('death'), data: { ...BIRTH_DATA, data: { 'deceased.firstName': 'Anaïs', 'deceased.lastName': 'Phiri', 'deceased.dateOfDeath': '2026-01-05' } }, qrUrl });
    const images = pdfImages(pdf);
    const coa = images.find((i) => i.width === 120 && i.height === 140);
    expect(coa, 'the coat of arms').toBeDefined();
    // The QR matrix, generated independently, must be exactly the embedded image's dark modules.
    const qr = QRCode.create(qrUrl, { errorCorrectionLevel: QR_OPTIONS.errorCorrectionLevel });
    const n = qr.modules.size;
    const side = (n + 2 * QR_OPTIONS.margin) * QR_OPTIONS.scale;
    const img = images.find((i) => i.width === side && i.height === side);
    expect(img, `a ${side}px QR image among ${images.map((i) => `${i.width}x${i.height}`).join(', ')}`).toBeDefined();
    const channels = img!.data.length / (side * side);
    let mismatches = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const px = ((QR_OPTIONS.margin + r) * QR_OPTIONS.scale + QR_OPTIONS.scale / 2) * side + (QR_OPTIONS.margin + c) * QR_OPTIONS.scale + QR_OPTIONS.scale / 2;
        const dark = img!.data[px * channels]! < 128;
        if (dark !== !!qr.modules.get(r, c)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    // A different URL gives a different matrix: the check above can fail.
    const other = QRCode.create('https://crvs.example/verify/other', { errorCorrectionLevel: 'M' });
    expect([...other.modules.data].join('')).not.toBe([...qr.modules.data].join(''));
    expect(pdfText(pdf)).toContain('Anaïs PHIRI');
  });

  it('escapes data, so a value cannot add markup or references to the SVG', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="842" height="300"><text x="5" y="20" font-size="8">{{name}}</text><text x="5" y="40" font-size="8" id="{{id}}">{{note}}</text></svg>';
    const pdf = await renderCertificatePdf({ svgTemplate: svg, data: { name: '</text><image href="https://evil.example/x.png"/><text>', id: '" onload="alert(1)', note: 'Ça & là <b>' }, qrUrl: 'https://x.example/v/1' });
    const text = pdfText(pdf);
    expect(text).toContain('</text><image href="https://evil.example/x.png"/><text>');
    expect(text).toContain('Ça & là <b>');
  });

  it('refuses raw placeholders, partials, unknown helpers, unknown names and prototype access', async () => {
    const render = (inner: string, data: Record<string, unknown> = { name: 'x' }) => renderCertificatePdf({ svgTemplate: wrap(`<text>${inner}</text>`), data, qrUrl: 'https://x.example/v' });
    for (const [inner, reason] of [
      ['{{{name}}}', /raw/],
      ['{{&amp; name}}', /raw|malformed/],
      ['{{> evil}}', /partials|raw|malformed/],
      ['{{lookup this "name"}}', /unknown helper lookup/],
      ['{{log name}}', /unknown helper log/],
      ['{{nmae}}', /names nothing/],
      ['{{name.constructor}}', /not allowed/],
      ['{{name.__proto__}}', /not allowed/],
      ['{{#each}}', /malformed/],
    ] as const) {
      await expect(render(inner), inner).rejects.toMatchObject({ code: 'certificate_template_invalid', message: expect.stringMatching(reason) });
    }
    // Inside #each, names are the item's.
    const ok = await render('{{#each people}}{{first}} {{/each}}', { people: [{ first: 'Ama' }, { first: 'Kofi' }] });
    expect(pdfText(ok)).toContain('Ama Kofi');
    // A missing value inside the data (a child not yet named) prints nothing rather than failing.
    expect(pdfText(await render('[{{data.[child.firstName]}}]', { data: {} }))).toContain('[]');
  });
});
