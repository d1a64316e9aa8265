import type { Server } from 'node:http';
import express from 'express';
import mongoose from 'mongoose';

/**
 * The floor of bench/file-read.ts: a bare express app with mongoose on the contacts service's own
 * database, answering the four reads of the bench with the queries the contacts service makes
 * (services/contacts/src/data/parties.ts), as JSON: no auth, no validation, no NATS, no view
 * building. The org is fixed when the floor starts.
 *
 * - GET /v1/parties/:partyId and /v1/parties/:partyId/channels: findOne { orgId, _id } (lean), the
 *   document as stored or its channels;
 * - GET /v1/parties?assignedTo=&limit=: find { orgId, assignedTo } sorted by sortKey, limit + 1;
 * - GET /v1/people?name=&limit=: find { orgId, kind: 'person', searchKeys: word } sorted by sortKey,
 *   limit + 1: the stored keys hold every prefix of a name up to 24 characters (domain/search.ts
 *   nameFilter), and the name is one normalized word of three letters here; the bench sends nothing else.
 */
export interface FileReadFloor {
  port: number;
  close(): Promise<void>;
}

export async function startFileReadFloor(opts: { mongoUrl: string; dbName: string; orgId: string }): Promise<FileReadFloor> {
  // The pool and timeouts of a Relais service's connection (shared/src/db.ts).
  const conn = mongoose.createConnection(opts.mongoUrl, {
    dbName: opts.dbName,
    serverSelectionTimeoutMS: 5_000,
    socketTimeoutMS: 15_000,
    maxPoolSize: 10,
    bufferCommands: false,
    autoIndex: false,
    autoCreate: false,
  });
  await conn.asPromise();
  const parties = conn.model('FloorParty', new mongoose.Schema({ _id: String }, { strict: false, versionKey: false, collection: 'parties' }));
  const { orgId } = opts;
  const limitOf = (q: unknown) => Math.min(100, Math.max(1, Number(q) || 20));
  // A query parameter given once; absent or repeated, it matches nothing.
  const textOf = (q: unknown) => (typeof q === 'string' ? q : '');

  const app = express();
  app.disable('x-powered-by');
  app.get('/v1/parties/:partyId', async (req, res) => {
    const doc = await parties.findOne({ orgId, _id: req.params.partyId }).lean().exec();
    if (!doc) return void res.status(404).json({ status: 404 });
    res.json(doc);
  });
  app.get('/v1/parties/:partyId/channels', async (req, res) => {
    const doc = await parties.findOne({ orgId, _id: req.params.partyId }).lean<{ primaryChannelId?: string; channels?: unknown[] }>().exec();
    if (!doc) return void res.status(404).json({ status: 404 });
    res.json({ primaryChannelId: doc.primaryChannelId ?? null, items: doc.channels ?? [] });
  });
  app.get('/v1/parties', async (req, res) => {
    const limit = limitOf(req.query.limit);
    const docs = await parties
      .find({ orgId, assignedTo: textOf(req.query.assignedTo) })
      .sort({ sortKey: 1 })
      .limit(limit + 1)
      .lean()
      .exec();
    res.json({ items: docs.slice(0, limit), more: docs.length > limit });
  });
  app.get('/v1/people', async (req, res) => {
    const limit = limitOf(req.query.limit);
    const word = textOf(req.query.name).toLowerCase();
    const docs = await parties
      .find({ orgId, kind: 'person', searchKeys: word })
      .sort({ sortKey: 1 })
      .limit(limit + 1)
      .lean()
      .exec();
    res.json({ items: docs.slice(0, limit), more: docs.length > limit });
  });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    });
  } catch (err) {
    await conn.close(true);
    throw err;
  }
  server.keepAliveTimeout = 5_000;
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await conn.close(true).catch(() => {});
    },
  };
}
