import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CairnError } from '@cairn/sdk';
import { validateRegistrationData, type RegistrationForm } from '@cairn/sdk/instruments';
import { AttachmentFailure, attachmentsOf, looksLike, uploadPending, withStandIns, withUploaded, type Attachment, type LocalDocumentRef } from '../src/offline/attachments.js';

/**
 * The attachments of an outbox item (web/src/offline/attachments.ts, docs/offline.md
 * "Attachments"), without a browser: each acknowledged upload is recorded before the next starts,
 * and a try cut short resumes after the last acknowledged file. The browser test is
 * offline.test.ts ("… with a photo of a document and a PDF …").
 */
const sha = (c: string) => c.repeat(64);
const photo: LocalDocumentRef = { localDocument: sha('a'), mediaType: 'image/png', size: 3, name: 'photo.png', documentType: 'proof-of-birth' };
const pdf: LocalDocumentRef = { localDocument: sha('b'), mediaType: 'application/pdf', size: 5, name: 'letter.pdf' };
const signature: LocalDocumentRef = { localDocument: sha('c'), mediaType: 'image/png', size: 4, name: 'signature.png' };
const data = { 'child.lastName': 'Uwase', documents: [photo, pdf, photo], 'informant.signature': signature };

function server(failAt?: { call: number; error: unknown }) {
  const uploads: string[] = [];
  let calls = 0;
  return {
    uploads,
    upload: async (file: Blob, mediaType: string) => {
      calls++;
      if (failAt?.call === calls) throw failAt.error;
      const text = await file.text();
      uploads.push(text);
      return { documentId: createHash('sha256').update(text).digest('hex'), mediaType, size: file.size };
    },
  };
}
const read = async (a: Attachment) => new Blob([a.local.slice(0, 1) + '-bytes'], { type: a.mediaType });

describe('an outbox item’s attachments', () => {
  it('lists each kept file once, from a documents list and a signature', () => {
    expect(attachmentsOf(data).map((a) => a.name)).toEqual(['photo.png', 'letter.pdf', 'signature.png']);
    expect(attachmentsOf({ 'child.lastName': 'x' })).toEqual([]);
  });

  it('records each upload as soon as it is acknowledged, and a try cut by the network resumes after the last one', async () => {
    const saved: Attachment[][] = [];
    const started: number[] = [];
    const first = server({ call: 2, error: new CairnError(0, 'network_error', 'Cannot reach the server') });
    const items = attachmentsOf(data);
    const cut = await uploadPending(items, { read, upload: first.upload, starting: (i) => void started.push(i), saved: (l) => void saved.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(cut).toBeInstanceOf(AttachmentFailure);
    expect((cut as AttachmentFailure).index).toBe(1);
    expect((cut as AttachmentFailure).attachment.name).toBe('letter.pdf');
    expect(((cut as AttachmentFailure).cause as CairnError).code).toBe('network_error');
    expect(first.uploads).toEqual(['a-bytes']);
    expect(started).toEqual([0, 1]);
    // What the outbox stored: the photo acknowledged, the rest not.
    expect(saved).toHaveLength(1);
    const stored = saved[0]!;
    expect(stored.map((a) => !!a.uploaded)).toEqual([true, false, false]);

    // The next try (a new page, the item read back from the vault) sends only the PDF and the signature.
    const second = server();
    const done = await uploadPending(JSON.parse(JSON.stringify(stored)) as Attachment[], { read, upload: second.upload, saved: (l) => void saved.push(l) });
    expect(second.uploads).toEqual(['b-bytes', 'c-bytes']);
    expect(done.every((a) => a.uploaded)).toBe(true);
    expect(saved.map((l) => l.filter((a) => a.uploaded).length)).toEqual([1, 2, 3]);
    // A third try with everything acknowledged uploads nothing.
    const third = server();
    await uploadPending(done, { read, upload: third.upload, saved: () => undefined });
    expect(third.uploads).toEqual([]);

    // The request then carries the server's references, with what the person added to each.
    const body = withUploaded(data, done);
    expect(body.documents).toEqual([
      { documentId: done[0]!.uploaded!.documentId, mediaType: 'image/png', size: 7, name: 'photo.png', documentType: 'proof-of-birth' },
      { documentId: done[1]!.uploaded!.documentId, mediaType: 'application/pdf', size: 7, name: 'letter.pdf' },
      { documentId: done[0]!.uploaded!.documentId, mediaType: 'image/png', size: 7, name: 'photo.png', documentType: 'proof-of-birth' },
    ]);
    expect(body['informant.signature']).toEqual({ documentId: done[2]!.uploaded!.documentId, mediaType: 'image/png', size: 7, name: 'signature.png' });
    expect(body['child.lastName']).toBe('Uwase');
    expect(() => withUploaded(data, stored)).toThrow(/not uploaded/);
  });

  it('stops at a file the server refuses, naming it, and at a file no longer on the device', async () => {
    const refused = server({ call: 1, error: new CairnError(415, 'unsupported_media_type', 'The content is not a image/png file') });
    const e = await uploadPending(attachmentsOf(data), { read, upload: refused.upload, saved: () => undefined }).catch((x: unknown) => x);
    expect((e as AttachmentFailure).message).toMatch(/^photo\.png: /);
    const gone = await uploadPending(attachmentsOf(data), { read: async () => undefined, upload: server().upload, saved: () => undefined }).catch((x: unknown) => x);
    expect(((gone as AttachmentFailure).cause as CairnError).code).toBe('attachment_missing');
  });

  it('checks a form holding kept files as the documents they will be (type, size, count)', () => {
    const form = { pages: [{ id: 'p', title: 'P', fields: [{ kind: 'documents', name: 'documents', label: 'Documents', maxItems: 2, maxBytes: 6, documentTypes: [{ value: 'proof-of-birth', label: 'Proof of birth' }] }] }] } as unknown as RegistrationForm;
    expect(validateRegistrationData(form, { documents: [photo] } as never).ok).toBe(false);
    expect(validateRegistrationData(form, withStandIns({ documents: [photo, pdf] }) as never).ok).toBe(true);
    expect(validateRegistrationData(form, withStandIns({ documents: [photo, pdf, photo] }) as never).ok).toBe(false);
    expect(validateRegistrationData(form, withStandIns({ documents: [{ ...pdf, size: 7 }] }) as never).ok).toBe(false);
  });

  it('checks a file’s first bytes as the server does', async () => {
    const png = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])]);
    expect(await looksLike(png, 'image/png')).toBe(true);
    expect(await looksLike(png, 'image/jpeg')).toBe(false);
    expect(await looksLike(new Blob(['%PDF-1.4']), 'application/pdf')).toBe(true);
    expect(await looksLike(new Blob(['hello']), 'application/pdf')).toBe(false);
    expect(await looksLike(new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])]), 'image/jpeg')).toBe(true);
  });
});
