import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import type { OperationDoc } from './http/operation';

// Read once at start-up: the page is static and served from the gateway itself (no CDN is reachable).
const page = readFileSync(new URL('./docs/page.html', import.meta.url), 'utf8');
const script = readFileSync(new URL('./docs/docs.js', import.meta.url), 'utf8');

export const docsPage: RequestHandler = (_req, res) => {
  res.type('html').send(page);
};

export const docsScript: RequestHandler = (_req, res) => {
  res.type('application/javascript').set('Cache-Control', 'no-cache').send(script);
};

export const docsDocs: OperationDoc[] = [
  {
    operationId: 'gateway.openapi',
    method: 'get',
    path: '/openapi.json',
    security: 'none',
    summary: 'This document (OpenAPI 3.1)',
    tag: 'Operations',
  },
  {
    operationId: 'gateway.docs',
    method: 'get',
    path: '/docs',
    security: 'none',
    summary: 'A readable page of this document',
    tag: 'Operations',
    produces: 'text/html',
  },
];
