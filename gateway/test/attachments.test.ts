import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { STREAM_PIECE_BYTES, connectDatabase } from '@relais/shared';
import { eventually } from '@relais/testing';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { FORM_CONTENT_TYPE, RawClient, SAMPLE_PNG, formBody, samplePdf, sha256, type FormPart } from './support/fuzz';
import { expectProblem, startTestStack, type Reply, type TestStack } from './support';

/** Small, so a file past it is cheap to send, and large enough for the 3 MB round trip. */
const MAX_BYTES = 4 * 1024 * 1024;
/** GridFS's default chunk size. */
const CHUNK = 255 * 1024;

interface Upload {
  filename: string;
  /** The Blob's type, which fetch sends as the part's Content-Type ('' sends application/octet-stream). */
  type: string;
  bytes: Buffer;
}

/** A PDF of `size` bytes: a real PDF's header, then random bytes (file-type reads only the start). */
const pdfOf = (size: number) => {
  const head = samplePdf('Grand fichier');
  return Buffer.concat([head, randomBytes(size - head.length)]);
};

/**
 * Attachments of a party's file over HTTP (seed 002), through the gateway and the contacts service over real
 * NATS: multipart uploads streamed to GridFS, types read from the bytes, downloads byte for byte, soft deletion
 * and an admin's erasure, and refused or interrupted uploads that leave nothing stored.
 */
describe('through the gateway: attachments of a party', function () {
  this.timeout(180_000);
  let t: TestStack;
  let db: Connection;
  const tokens: Record<'admin' | 'caseworker' | 'agent', string> = { admin: '', caseworker: '', agent: '' };
  const users: Record<string, string> = {};
  let otherAdmin: string;
  let raw: RawClient;

  const ok = (reply: Reply, status = 200) => {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    return reply.body;
  };

  /** A request through fetch, as a client would send it; the body as bytes too (downloads). */
  async function call(method: string, path: string, token: string, init: { form?: FormData; headers?: Record<string, string> } = {}) {
    const res = await fetch(t.gw.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
      body: init.form,
      signal: AbortSignal.timeout(60_000),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      headers: res.headers,
      bytes,
      body: /json/.test(type) && bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : bytes.toString('utf8'),
    };
  }

  /** A FormData as browsers build it: the description first, then the file with its name and type. */
  function upload(partyId: string, token: string, file: Upload, description?: string, headers?: Record<string, string>) {
    const form = new FormData();
    if (description !== undefined) form.append('description', description);
    form.append('file', new Blob([file.bytes], { type: file.type }), file.filename);
    return call('POST', `/v1/parties/${partyId}/attachments`, token, { form, headers });
  }

  const list = async (partyId: string, token = tokens.agent) =>
    (ok(await t.api.get(`/v1/parties/${partyId}/attachments`, { token })).items as { id: string }[]).map((a) => a.id);

  /** Everything the attachments occupy in the database: records, GridFS files and their chunks. */
  async function storage() {
    const count = (name: string) => db.collection(name).countDocuments({});
    return { records: await count('attachments'), files: await count('attachments.files'), chunks: await count('attachments.chunks') };
  }

  const chunksOf = (id: string) => db.collection('attachments.chunks').countDocuments({ files_id: id });
  const gridFile = (id: string) => db.collection('attachments.files').findOne({ _id: id } as never);

  async function newParty(lastName: string): Promise<string> {
    return ok(await t.api.post('/v1/people', { token: tokens.caseworker, json: { lastName, firstName: 'Pièces' } }), 201).id;
  }

  /** A refusal that stored nothing: the same records, GridFS files and chunks as before, and the same list. */
  async function expectNothingStored(partyId: string, before: { storage: Awaited<ReturnType<typeof storage>>; ids: string[] }) {
    expect(await storage()).to.deep.equal(before.storage);
    expect(await list(partyId)).to.deep.equal(before.ids);
  }
  const state = async (partyId: string) => ({ storage: await storage(), ids: await list(partyId) });

  before(async () => {
    t = await startTestStack({ ATTACHMENT_MAX_BYTES: String(MAX_BYTES) });
    const org = await createOrgWithAdmin(t.gw.store, {
      name: `Pièces ${randomUUID().slice(0, 8)}`,
      region: 'FR',
      timeZone: 'Europe/Paris',
      admin: { name: 'Admin', email: 'admin@pieces.test' },
    });
    tokens.admin = org.token.token;
    users.admin = org.admin.id;
    // The agent is the staff role that reads files without changing them.
    for (const role of ['caseworker', 'agent'] as const) {
      const created = await createUserWithToken(t.gw.store, org.org.id, { name: role, email: `${role}@pieces.test`, role });
      tokens[role] = created.token.token;
      users[role] = created.user.id;
    }
    otherAdmin = (await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@other.test' } })).token.token;
    db = await connectDatabase(t.config, 'contacts');
    raw = new RawClient(t.gw.url, 2);
  });

  after(async () => {
    raw?.close();
    await db?.close();
    await t?.close();
  });

  describe('a file with a few documents', () => {
    let partyId: string;
    const pdf: Upload = { filename: "relevé d'identité.pdf", type: 'application/pdf', bytes: samplePdf('Releve d identite bancaire') };
    let uploaded: { id: string; uploadedAt: string };

    before(async () => {
      partyId = await newParty('Hoarau');
    });

    it('stores a PDF with its UTF-8 name, its size and its sha256, and lists the newest first', async () => {
      uploaded = ok(await upload(partyId, tokens.caseworker, pdf, '  RIB pour le prélèvement  '), 201);
      expect(uploaded).to.include({
        partyId,
        filename: "relevé d'identité.pdf",
        contentType: 'application/pdf',
        size: pdf.bytes.length,
        sha256: sha256(pdf.bytes),
        description: 'RIB pour le prélèvement',
        uploadedBy: users.caseworker,
      });
      expect(uploaded.id).to.match(/^[0-9a-f-]{36}$/);
      expect(Date.parse(uploaded.uploadedAt)).to.be.closeTo(Date.now(), 60_000);

      // The type kept is read from the bytes: a PNG declared as a PDF is a PNG; a blank description is none.
      const png = ok(await upload(partyId, tokens.caseworker, { filename: 'scan.pdf', type: 'application/pdf', bytes: SAMPLE_PNG }, '   '), 201);
      expect(png).to.include({ contentType: 'image/png', size: SAMPLE_PNG.length, description: null });
      const text = ok(await upload(partyId, tokens.admin, { filename: 'notes 李.txt', type: 'text/plain', bytes: Buffer.from('Rappeler le 15.\n') }), 201);
      expect(text).to.include({ contentType: 'text/plain', filename: 'notes 李.txt', uploadedBy: users.admin });

      expect(await list(partyId)).to.deep.equal([text.id, png.id, uploaded.id]);
      const listed = ok(await t.api.get(`/v1/parties/${partyId}/attachments`, { token: tokens.agent })).items;
      expect(listed[2]).to.deep.equal(uploaded);
    });

    it("answers an attachment's metadata, and its bytes as uploaded with their type, length and file name", async () => {
      expect(ok(await t.api.get(`/v1/parties/${partyId}/attachments/${uploaded.id}`, { token: tokens.agent }))).to.deep.equal(uploaded);

      const download = await call('GET', `/v1/parties/${partyId}/attachments/${uploaded.id}/content`, tokens.agent);
      expect(download.status).to.equal(200);
      expect(download.bytes.equals(pdf.bytes)).to.equal(true);
      expect(download.headers.get('content-type')).to.equal('application/pdf');
      expect(download.headers.get('content-length')).to.equal(String(pdf.bytes.length));
      expect(download.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(download.headers.get('cache-control')).to.equal('no-store');
      const disposition = download.headers.get('content-disposition')!;
      expect(disposition).to.equal(`attachment; filename="relev_ d'identit_.pdf"; filename*=UTF-8''relev%C3%A9%20d%27identit%C3%A9.pdf`);
      expect(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)![1])).to.equal(pdf.filename);
    });

    it('refuses, storing nothing, a file whose bytes are not of an allowed type', async () => {
      const before = await state(partyId);
      const exe = expectProblem(
        await upload(partyId, tokens.caseworker, {
          filename: 'facture.pdf',
          type: 'application/pdf',
          bytes: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(510)]),
        }),
        415,
      );
      expect(exe.detail).to.match(
        /^The file's content is application\/x-msdownload \(\.exe\), read from its bytes; allowed: PDF, PNG, .* Nothing was stored\.$/,
      );
      // A zip that is not an office document.
      const zip = Buffer.from('504b0304140000000000000000000000000005000000050000000500000061' + '2e74787468656c6c6f', 'hex');
      expect(expectProblem(await upload(partyId, tokens.caseworker, { filename: 'pieces.zip', type: 'application/zip', bytes: zip }), 415).detail).to.include(
        'application/zip',
      );
      // Text has no signature: it is taken as text only when sent as text/plain.
      const text = expectProblem(await upload(partyId, tokens.caseworker, { filename: 'notes.txt', type: '', bytes: Buffer.from('Bonjour') }), 415);
      expect(text.detail).to.include('looks like plain text but was sent as application/octet-stream: send text files as text/plain');
      expectProblem(await upload(partyId, tokens.caseworker, { filename: 'vide.pdf', type: 'application/pdf', bytes: Buffer.alloc(0) }), 422);
      await expectNothingStored(partyId, before);
    });

    it(`answers 413 past ATTACHMENT_MAX_BYTES (${MAX_BYTES} here) and stores nothing, and takes a file of exactly the limit`, async () => {
      const before = await state(partyId);
      const tooLarge = expectProblem(
        await upload(partyId, tokens.caseworker, { filename: 'gros.pdf', type: 'application/pdf', bytes: pdfOf(MAX_BYTES + 1) }),
        413,
      );
      expect(tooLarge.detail).to.equal('The file is larger than the 4 MiB allowed (4,194,304 bytes); nothing was stored.');
      // Well past the limit, refused the same way.
      expectProblem(await upload(partyId, tokens.caseworker, { filename: 'énorme.pdf', type: 'application/pdf', bytes: pdfOf(3 * MAX_BYTES) }), 413);
      await expectNothingStored(partyId, before);

      const atLimit = ok(await upload(partyId, tokens.caseworker, { filename: 'juste.pdf', type: 'application/pdf', bytes: pdfOf(MAX_BYTES) }), 201);
      expect(atLimit.size).to.equal(MAX_BYTES);
      // Not kept: the rest of this file's tests compare its list.
      ok(await t.api.delete(`/v1/parties/${partyId}/attachments/${atLimit.id}?erase=true`, { token: tokens.admin }));
    });

    it('answers 422 to an upload with an Idempotency-Key, or that breaks the form, and stores nothing', async () => {
      const before = await state(partyId);
      const keyed = expectProblem(await upload(partyId, tokens.caseworker, pdf, undefined, { 'idempotency-key': 'k-1' }), 422);
      expect(keyed.errors).to.deep.equal([
        { path: 'Idempotency-Key', message: 'is not supported on uploads: send the request without it (a retry stores a second copy, with the same sha256)' },
      ]);
      const noFile = new FormData();
      noFile.append('description', 'sans fichier');
      expectProblem(await call('POST', `/v1/parties/${partyId}/attachments`, tokens.caseworker, { form: noFile }), 422);
      expectProblem(await t.api.post(`/v1/parties/${partyId}/attachments`, { token: tokens.caseworker, json: { description: 'x', file: 'JVBERi0=' } }), 415);

      // A field after a file already streaming to the service, or a second file: the service drops what it wrote.
      const big = pdfOf(3 * CHUNK);
      const late: FormPart[] = [
        { name: 'file', filename: 'a.pdf', contentType: 'application/pdf', value: big },
        { name: 'description', value: 'trop tard' },
      ];
      const after = await rawPost(`/v1/parties/${partyId}/attachments`, tokens.caseworker, formBody(late), { 'content-type': FORM_CONTENT_TYPE });
      expect(expectProblem(after, 422).errors).to.deep.equal([{ path: 'description', message: 'must come before the "file" part' }]);
      const twoFiles: FormPart[] = [late[0], { ...late[0], filename: 'b.pdf' }];
      expectProblem(await rawPost(`/v1/parties/${partyId}/attachments`, tokens.caseworker, formBody(twoFiles), { 'content-type': FORM_CONTENT_TYPE }), 422);
      // A form labelled compressed is not decompressed: refused rather than stored as sent.
      const gzip = await rawPost(`/v1/parties/${partyId}/attachments`, tokens.caseworker, formBody([late[0]]), {
        'content-type': FORM_CONTENT_TYPE,
        'content-encoding': 'gzip',
      });
      expect(expectProblem(gzip, 415).detail).to.equal('Send the form without Content-Encoding (got gzip): uploads are not decompressed.');
      await expectNothingStored(partyId, before);
    });

    it('lets a reader list and download, not upload nor delete', async () => {
      const before = await state(partyId);
      expect(expectProblem(await upload(partyId, tokens.agent, pdf), 403).detail).to.equal(
        'This requires one of the roles admin, manager, caseworker; your role is agent.',
      );
      expectProblem(await t.api.delete(`/v1/parties/${partyId}/attachments/${uploaded.id}`, { token: tokens.agent }), 403);
      await expectNothingStored(partyId, before);
      expect((await call('GET', `/v1/parties/${partyId}/attachments/${uploaded.id}/content`, tokens.agent)).bytes.equals(pdf.bytes)).to.equal(true);
    });

    it('answers 404 to another org on every attachment route, and stores nothing for it', async () => {
      const before = await state(partyId);
      const base = `/v1/parties/${partyId}/attachments`;
      expect(expectProblem(await upload(partyId, otherAdmin, pdf), 404).detail).to.equal('Party was not found');
      expectProblem(await t.api.get(base, { token: otherAdmin }), 404);
      expectProblem(await t.api.get(`${base}/${uploaded.id}`, { token: otherAdmin }), 404);
      expectProblem(await call('GET', `${base}/${uploaded.id}/content`, otherAdmin), 404);
      expectProblem(await t.api.delete(`${base}/${uploaded.id}?erase=true`, { token: otherAdmin }), 404);
      // Nor through a party of its own.
      const theirs = ok(await t.api.post('/v1/people', { token: otherAdmin, json: { lastName: 'Autre', firstName: 'Org' } }), 201).id;
      expectProblem(await t.api.get(`/v1/parties/${theirs}/attachments/${uploaded.id}`, { token: otherAdmin }), 404);
      expectProblem(await call('GET', `/v1/parties/${theirs}/attachments/${uploaded.id}/content`, otherAdmin), 404);
      await expectNothingStored(partyId, before);
    });

    it('deletes softly: no longer listed nor readable, the bytes kept', async () => {
      const base = `/v1/parties/${partyId}/attachments/${uploaded.id}`;
      const removed = ok(await t.api.delete(base, { token: tokens.caseworker }));
      expect(removed).to.include({ id: uploaded.id, partyId, state: 'deleted', deletedBy: users.caseworker });
      const gone = `This attachment was deleted on ${removed.deletedAt}; it is no longer available.`;
      expect(expectProblem(await t.api.get(base, { token: tokens.agent }), 404).detail).to.equal(gone);
      expect(expectProblem(await call('GET', `${base}/content`, tokens.agent), 404).detail).to.equal(gone);
      expect(expectProblem(await t.api.delete(base, { token: tokens.caseworker }), 404).detail).to.equal(gone);
      expect(await list(partyId)).to.not.include(uploaded.id);
      expect(await gridFile(uploaded.id)).to.include({ length: pdf.bytes.length });
      expect(await chunksOf(uploaded.id)).to.equal(1);
    });

    it('lets only an admin erase: the bytes are gone and the record keeps only the erasure', async () => {
      const base = `/v1/parties/${partyId}/attachments`;
      const [stored] = await list(partyId);
      expect(expectProblem(await t.api.delete(`${base}/${stored}?erase=true`, { token: tokens.caseworker }), 403).detail).to.include('Only an admin can erase');
      expect(await list(partyId)).to.include(stored);

      const erased = ok(await t.api.delete(`${base}/${stored}?erase=true`, { token: tokens.admin }));
      expect(erased).to.deep.equal({ id: stored, partyId, state: 'erased', erasedAt: erased.erasedAt, erasedBy: users.admin });
      expect(await gridFile(stored)).to.equal(null);
      expect(await chunksOf(stored)).to.equal(0);
      const record = await db.collection('attachments').findOne({ _id: stored } as never);
      expect(Object.keys(record!).sort()).to.deep.equal(['_id', 'erasedAt', 'erasedBy', 'orgId', 'partyId', 'state']);
      expect(expectProblem(await t.api.get(`${base}/${stored}`, { token: tokens.agent }), 404).detail).to.equal(
        `This attachment was erased on ${erased.erasedAt}; its content no longer exists.`,
      );
      expectProblem(await call('GET', `${base}/${stored}/content`, tokens.admin), 404);
      // Erasing again answers the first erasure; a deleted attachment can be erased too, its bytes with it.
      expect(ok(await t.api.delete(`${base}/${stored}?erase=true`, { token: tokens.admin }))).to.deep.equal(erased);
      expect(ok(await t.api.delete(`${base}/${uploaded.id}?erase=true`, { token: tokens.admin }))).to.include({ state: 'erased' });
      expect(await gridFile(uploaded.id)).to.equal(null);
      expect(await chunksOf(uploaded.id)).to.equal(0);
      expectProblem(await t.api.delete(`${base}/${randomUUID()}?erase=true`, { token: tokens.admin }), 404);
    });
  });

  describe('large and interrupted uploads', () => {
    it('keeps nothing of an upload whose client goes away midway', async () => {
      const partyId = await newParty('Coupé');
      const before = await state(partyId);
      const body = formBody([
        { name: 'description', value: 'interrompu' },
        { name: 'file', filename: 'coupé.pdf', contentType: 'application/pdf', value: pdfOf(3_000_000) },
      ]);
      const req = http.request(`${t.gw.url}/v1/parties/${partyId}/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.caseworker}`, 'content-type': FORM_CONTENT_TYPE, 'content-length': body.length },
      });
      req.on('error', () => {});
      req.write(body.subarray(0, 1_500_000));
      // The upload is under way: the service has written chunks of it.
      await eventually(async () => (await storage()).chunks > before.storage.chunks, {
        what: 'chunks of the upload written',
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      req.destroy();
      await eventually(async () => JSON.stringify(await storage()) === JSON.stringify(before.storage), {
        what: 'the chunks of the interrupted upload deleted',
        timeoutMs: 20_000,
      });
      expect(await list(partyId)).to.deep.equal(before.ids);
      // The service is still there for the next one.
      ok(await upload(partyId, tokens.caseworker, { filename: 'ok.pdf', type: 'application/pdf', bytes: samplePdf() }), 201);
    });

    it('round-trips a file of ~3 MB: many GridFS chunks and stream pieces, byte for byte', async () => {
      const partyId = await newParty('Volumineux');
      const bytes = pdfOf(3 * 1024 * 1024 + 12_345);
      expect(Math.ceil(bytes.length / STREAM_PIECE_BYTES)).to.be.greaterThan(40);
      const stored = ok(await upload(partyId, tokens.caseworker, { filename: 'dossier complet.pdf', type: 'application/pdf', bytes }, 'Dossier scanné'), 201);
      expect(stored).to.include({ size: bytes.length, sha256: sha256(bytes), contentType: 'application/pdf' });
      expect(await chunksOf(stored.id)).to.equal(Math.ceil(bytes.length / CHUNK));
      const download = await call('GET', `/v1/parties/${partyId}/attachments/${stored.id}/content`, tokens.agent);
      expect(download.status).to.equal(200);
      expect(download.headers.get('content-length')).to.equal(String(bytes.length));
      expect(sha256(download.bytes)).to.equal(stored.sha256);
      expect(download.bytes.equals(bytes)).to.equal(true);
    });
  });

  /** A form sent byte for byte (fetch builds its own), answered as a Reply. */
  async function rawPost(path: string, token: string, body: Buffer, headers: Record<string, string>): Promise<Reply> {
    const reply = await raw.send({ method: 'POST', path, headers: { authorization: `Bearer ${token}`, ...headers }, body });
    const replyHeaders = new Headers(Object.entries(reply.headers).map(([k, v]) => [k, String(v)] as [string, string]));
    return { status: reply.status, headers: replyHeaders, body: reply.json ?? reply.text };
  }
});
