import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { chromium, type Browser, type Locator, type Page, type Response } from 'playwright-core';
import { PLATFORM_TOKEN, startTestStack, type Parsed, type TestStack } from './support';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN_KEY = 'relais.docs.token';

type Json = Record<string, Parsed>;

/** What the "Try it" result area shows once the answer is in. */
interface Shown {
  status: string;
  headers: Record<string, string>;
  text: string;
}

/**
 * GET /docs in headless Chromium against the whole stack, used as a reader would: the page must render
 * /openapi.json, and its token box and "Try it" forms must really call the API.
 */
describe('the API docs page in a browser', function () {
  this.timeout(30_000);
  let t: TestStack;
  let browser: Browser;
  let page: Page;
  let doc: Json;
  let admin: { token: string; email: string };
  // Console errors, uncaught exceptions, CSP violations, failed requests and HTTP errors on the page;
  // a test that causes one on purpose takes it off the list.
  let problems: string[] = [];

  before(async function () {
    this.timeout(90_000);
    // A missing browser is a broken set-up, not a reason to pass quietly.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install chromium\` (.ci/run does so on CI)`);
    t = await startTestStack();
    const email = `admin-${randomUUID().slice(0, 8)}@docs.test`;
    const org = await t.api.post('/v1/orgs', { token: PLATFORM_TOKEN, json: { name: 'Docs page', admin: { name: 'Ada', email } } });
    expect(org.status, JSON.stringify(org.body)).to.equal(201);
    admin = { token: org.body.token.token, email };
    doc = (await t.api.get('/openapi.json')).body;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Background networking off: in a sandbox without internet its connections pile up.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    // Chromium reports a CSP block on the console too; the event says which directive did it.
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    );
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'assert') problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close();
    await t?.close();
  });

  afterEach(() => {
    problems = [];
  });

  function expectNoProblems() {
    expect(problems, problems.join('\n')).to.deep.equal([]);
  }

  /** Loads /docs and waits until the operations are rendered (or the page says why not). */
  async function open(): Promise<Response> {
    const reply = await page.goto(`${t.gw.url}/docs`);
    expect(reply?.status()).to.equal(200);
    await page.locator('details.op, #error:not(:empty)').first().waitFor();
    expect(await page.locator('#error').textContent()).to.equal('');
    return reply!;
  }

  const operation = (operationId: string): Locator => page.locator(`details.op[id="${operationId}"]`);

  async function expand(details: Locator): Promise<void> {
    if ((await details.getAttribute('open')) === null) await details.locator(':scope > summary').click();
  }

  /** Opens the operation and its "Try it" form, sends it as it stands and reads the answer off the page. */
  async function tryIt(operationId: string): Promise<Shown> {
    const op = operation(operationId);
    await expand(op);
    const form = op.locator('details.try');
    await expand(form);
    await form.locator('button.send').click();
    // Disabled while the request is in flight.
    await form.locator('button.send:enabled').waitFor();
    const result = form.locator('.result');
    const headers: Record<string, string> = {};
    for (const row of await result.locator('table.headers tr').all()) {
      headers[(await row.locator('th').textContent()) ?? ''] = (await row.locator('td').textContent()) ?? '';
    }
    return { status: (await result.locator('strong').textContent()) ?? '', headers, text: (await result.locator('pre').textContent()) ?? '' };
  }

  it('renders every operation of /openapi.json under helmet’s CSP', async () => {
    const reply = await open();
    // "Not blocked" is only worth checking while the page is served with a script policy.
    expect(reply.headers()['content-security-policy']).to.match(/script-src 'self'/);
    const count = Object.values(doc.paths as Json).reduce((n: number, methods: Json) => n + Object.keys(methods).length, 0);
    expect(count).to.be.greaterThan(10);
    expect(await page.locator('details.op').count()).to.equal(count);
    expect(await page.locator('#title').textContent()).to.equal(`${doc.info.title} ${doc.info.version}`);
    expectNoProblems();
  });

  it('shows backtick spans as code, without the backticks', async () => {
    // API_INFO's description: "Authenticate with `Authorization: Bearer <token>`. ..."
    expect(doc.info.description).to.include('`Authorization: Bearer <token>`');
    expect(await page.locator('#intro code').allTextContents()).to.include('Authorization: Bearer <token>');
    // A parameter description: the Idempotency-Key of POST /v1/people names `Idempotent-Replayed: true`.
    expect(await operation('contacts.createPerson').locator('td code').allTextContents()).to.include('Idempotent-Replayed: true');
    // Prose only: JSON (examples, schemas) and the request bodies keep their characters.
    const prose: string[] = await page.evaluate(
      "Array.from(document.querySelectorAll('#intro, details.op p, details.op td, details.op li, details.op .response')).map((e) => { const c = e.cloneNode(true); c.querySelectorAll('pre, textarea, ul').forEach((x) => x.remove()); return c.textContent; })",
    );
    expect(prose.filter((s) => s.includes('`'))).to.deep.equal([]);
    expectNoProblems();
  });

  it('shows the example request of an operation', async () => {
    const expected = doc.paths['/v1/people'].post.requestBody.content['application/json'].example;
    expect(expected).to.be.an('object');
    const op = operation('contacts.createPerson');
    await expand(op);
    const example = op.locator('details.example', { hasText: 'Example request' });
    expect(await example.locator('pre').isVisible()).to.equal(true);
    expect(JSON.parse((await example.locator('pre').textContent()) ?? '')).to.deep.equal(expected);
    expectNoProblems();
  });

  it('sends GET /v1/me with the token pasted in the token box', async () => {
    await page.locator('#token').fill(admin.token);
    const shown = await tryIt('gateway.me');
    expect(shown.status).to.equal('200 OK');
    expect(JSON.parse(shown.text).user.email).to.equal(admin.email);
    expectNoProblems();
  });

  it('sends POST /v1/people with the example body and the person is really created', async () => {
    const shown = await tryIt('contacts.createPerson');
    expect(shown.status, shown.text).to.equal('201 Created');
    const created = JSON.parse(shown.text);
    const stored = await t.api.get(`/v1/people/${created.id}`, { token: admin.token });
    expect(stored.status, JSON.stringify(stored.body)).to.equal(200);
    expect(stored.body).to.include({ lastName: 'Pierre', firstName: 'Lucas', customId: 'DOM-2024-0042', createdAt: created.createdAt });
    expectNoProblems();
  });

  it('shows the 401 problem document for a wrong token', async () => {
    await page.locator('#token').fill('rl_not-a-real-token');
    const shown = await tryIt('gateway.me');
    expect(shown.status).to.equal('401 Unauthorized');
    expect(shown.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(JSON.parse(shown.text)).to.include({ status: 401, title: 'Unauthorized', type: 'about:blank' });
    // Chromium logs every 4xx answer to fetch; this one was asked for.
    const me = `${t.gw.url}/v1/me`;
    problems = problems.filter((p) => p !== `HTTP 401: GET ${me}` && !(p.includes('status of 401') && p.includes(me)));
    expectNoProblems();
  });

  it('keeps the token across a reload, and Forget clears it', async () => {
    await page.locator('#token').fill(admin.token);
    await page.reload();
    await page.locator('details.op, #error:not(:empty)').first().waitFor();
    expect(await page.locator('#token').inputValue()).to.equal(admin.token);
    expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)).to.equal(admin.token);
    expect((await tryIt('gateway.me')).status).to.equal('200 OK');

    await page.locator('#forget').click();
    expect(await page.locator('#token').inputValue()).to.equal('');
    expect(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)).to.equal(null);
    await open();
    expect(await page.locator('#token').inputValue()).to.equal('');
    expectNoProblems();
  });
});
