// Embedded key management end to end, in a real browser, as a SaaS's customers meet it: the example host app
// (examples/host-app, on http://localhost) frames Latchkey's key pages (on http://127.0.0.1: another site, so
// the frame is truly third-party) for its signed-in user, and the keys made there call the example invoices
// API. It also writes docs/screenshots/embed-host-app*.png.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserPrerequisiteMissing, launchChromium } from './fixtures/browser.js';
import { describeOrSkip } from './skip.js';
import { callJson, type Answer } from './fixtures/json-call.js';
import { freePort, startServer, type RunningServer } from './process.js';
import { createTestDatabase, postgresSkipReason } from './services.js';
import pg from 'pg';

const SHOTS = 'docs/screenshots';
const CI = process.env.CI === 'true';
const ACCOUNT = 'acct-northwind';
const ADMIN = { id: 'u-ada', name: 'Ada Lovelace', email: 'ada@northwind.example' };
const VIEWER = { id: 'u-grace', name: 'Grace Hopper' };
const run = promisify(execFile);

const missing = browserPrerequisiteMissing("the embedded key management's end-to-end test");
if (missing && CI) throw new Error(missing);
if (missing) console.log(`# skipping the embedded key management's end-to-end test: ${missing}`);

describeOrSkip("embedded key management in a SaaS's own settings page (examples/host-app), end to end in Chromium", { skip: missing ?? false }, () => {
  let dir: string;
  let latchkey: RunningServer;
  let invoices: RunningServer;
  let host: RunningServer;
  /** The host app as the browser knows it: localhost, another site than Latchkey's 127.0.0.1. */
  let hostOrigin: string;
  /** A page of an origin not in embed.allowed_origins that tries to frame whatever link it is given. */
  let stranger: Server;
  let strangerOrigin: string;
  let strangerFrames = '';
  /** The host app's own service key (embed:create, workspaces, keys, audit:read): the tests mint and read with it too. */
  let serviceKey: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-embed-'));
    mkdirSync(SHOTS, { recursive: true });
    const [latchkeyPort, invoicesPort, hostPort, strangerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    hostOrigin = `http://localhost:${hostPort}`;
    strangerOrigin = `http://localhost:${strangerPort}`;

    // The invoices product, framed by the host app only (its port is picked up front, for this list).
    const productFile = join(dir, 'product.yaml');
    writeFileSync(productFile, `${readFileSync('examples/invoices/latchkey.product.yaml', 'utf8')}embed:\n  allowed_origins: ["${hostOrigin}"]\n`);
    const env = { DATA_DIR: join(dir, 'data'), PRODUCT_FILE: productFile, LOG_LEVEL: 'warn' };
    // Before the server: PGlite's files are one process's at a time.
    const cli = async (...args: string[]) => (await run(process.execPath, ['dist/cli.js', ...args], { env: { ...process.env, ...env } })).stdout.trim();
    serviceKey = await cli('create-service-key', '--name', 'invoicely-web', '--permissions', 'embed:create,workspaces:read,workspaces:write,keys:read,keys:write,audit:read');
    const verifyKey = await cli('create-service-key', '--name', 'invoices-api', '--permissions', 'keys:verify');

    latchkey = await startServer(process.execPath, ['dist/main.js'], env, latchkeyPort);
    [invoices, host] = await Promise.all([
      startServer(process.execPath, ['--import', 'tsx', 'examples/invoices/src/server.ts'], { LATCHKEY_URL: latchkey.url, LATCHKEY_SERVICE_KEY: verifyKey }, invoicesPort),
      startServer(
        process.execPath,
        ['--import', 'tsx', 'examples/host-app/src/server.ts'],
        { LATCHKEY_URL: latchkey.url, LATCHKEY_SERVICE_KEY: serviceKey, INVOICES_API_URL: `http://127.0.0.1:${invoicesPort}` },
        hostPort,
      ),
    ]);

    stranger = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Elsewhere</title><iframe title="Framed elsewhere" src="${strangerFrames}"></iframe>`);
    });
    stranger.listen(strangerPort, '127.0.0.1');
    await once(stranger, 'listening');

    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    stranger?.close();
    await Promise.all([host?.stop(), invoices?.stop()]);
    await latchkey?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function newContext(viewport = { width: 1440, height: 900 }): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Europe/Paris' });
    // The frame's Copy button writes, the host page reads: the permission is the top-level page's.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hostOrigin });
    context.setDefaultTimeout(15_000);
    return context;
  }

  /** Signs in to the host app as `name` and opens Settings → API access. */
  async function signIn(context: BrowserContext, name: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${hostOrigin}/sign-in`);
    await page.getByRole('button', { name: new RegExp(name) }).click();
    await page.getByRole('heading', { name: 'API access' }).waitFor();
    // Server-rendered: had the link failed, the page would say so already.
    const failure = page.getByRole('alert');
    if ((await failure.count()) > 0) assert.fail(`${await failure.innerText()}\nthe host app's log:\n${host.output()}`);
    return page;
  }

  const frameOf = (page: Page) => page.frameLocator('iframe[title^="API keys"]');

  /** What Latchkey's management API answers the host app's backend. */
  const asService = (path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<Answer> =>
    callJson(`${latchkey.url}${path}`, { authorization: `Bearer ${serviceKey}` }, method, body);

  async function northwindWorkspace(): Promise<string> {
    const found = await asService(`/v1/workspaces?external_id=${ACCOUNT}`);
    if (found.body.data[0]) return found.body.data[0].id as string;
    return (await asService('/v1/workspaces', 'POST', { name: 'Northwind Traders', external_id: ACCOUNT })).body.id as string;
  }

  /** A single-use link for the admin, minted as the host app's backend does. */
  async function mint(): Promise<string> {
    const capabilities = ['keys:read', 'keys:write', 'keys:rotate', 'keys:revoke', 'usage:read', 'audit:read'];
    const minted = await asService('/v1/embed/sessions', 'POST', { workspace_id: await northwindWorkspace(), user: { external_id: ADMIN.id, email: ADMIN.email }, capabilities });
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    return minted.body.url as string;
  }

  async function callInvoices(secret: string): Promise<number> {
    const response = await fetch(`${invoices.url}/v1/invoices`, { headers: { authorization: `Bearer ${secret}` } });
    await response.arrayBuffer();
    return response.status;
  }

  const shot = (page: Page, name: string, fullPage = false) => page.screenshot({ path: `${SHOTS}/${name}.png`, animations: 'disabled', caret: 'hide', fullPage });

  it('an admin creates a key in the frame, copies it, calls the API, rotates, revokes the old version and sees the calls in its audit; the management log names them', { timeout: 120_000 }, async () => {
    const context = await newContext();
    const page = await signIn(context, ADMIN.name);
    const frame = frameOf(page);
    await frame.getByRole('heading', { name: 'API keys' }).waitFor();

    await frame.getByRole('button', { name: '+ New API key' }).click();
    const form = frame.getByRole('dialog', { name: 'New API key' });
    await form.getByLabel('Name').fill('erp-sync');
    await form.getByRole('checkbox', { name: /invoices:read/ }).check();
    await form.getByRole('button', { name: 'Create' }).click();
    const shown = frame.getByRole('alertdialog', { name: 'API key erp-sync created' });
    const secret = await shown.getByLabel('Secret key').inputValue();
    assert.match(secret, /^inv_live_/);
    // Copy, across origins (allow="clipboard-write" on the host's iframe), read back on the host's page.
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), secret);
    await shown.getByRole('button', { name: 'I have stored the key' }).click();
    assert.equal(await callInvoices(secret), 200);

    // Rotate; both secrets work during the overlap; revoke the old version; it is refused.
    await frame.getByRole('row', { name: /erp-sync/ }).getByRole('link', { name: 'erp-sync' }).click();
    await frame.getByRole('button', { name: 'Rotate' }).click();
    await frame.getByRole('dialog', { name: 'Rotate erp-sync' }).getByRole('button', { name: 'Rotate' }).click();
    const rotated = frame.getByRole('alertdialog', { name: 'New secret for erp-sync' });
    const newSecret = await rotated.getByLabel('Secret key').inputValue();
    assert.notEqual(newSecret, secret);
    await rotated.getByRole('button', { name: 'I have stored the key' }).click();
    assert.equal(await callInvoices(newSecret), 200);
    await frame.getByRole('button', { name: 'Revoke v1' }).click();
    await frame.getByRole('alertdialog', { name: /Revoke version 1 of erp-sync/ }).getByRole('button', { name: 'Revoke v1' }).click();
    await frame.getByRole('button', { name: 'Revoke v1' }).waitFor({ state: 'detached' });
    assert.equal(await callInvoices(secret), 401, 'the old version is revoked');
    assert.equal(await callInvoices(newSecret), 200);

    // The key's audit, in the frame: the calls, the refused one among them (written a moment after each call).
    const keyTabs = frame.getByRole('navigation', { name: 'Key', exact: true });
    await keyTabs.getByRole('link', { name: 'Audit log' }).click();
    // Each row's Details button names the call as the invoices API made it (checked through verify, whose route is recorded beside it).
    const calls = frame.getByRole('button', { name: /^Details of GET \/v1\/invoices/ });
    for (const until = Date.now() + 15_000; (await calls.count()) < 4; await page.waitForTimeout(250)) {
      assert.ok(Date.now() < until, `the key's audit shows ${await calls.count()} of its 4 calls`);
      // Within the frame: reloading it would end the session where the browser keeps no storage for third-party frames.
      await keyTabs.getByRole('link', { name: 'Settings' }).click();
      await keyTabs.getByRole('link', { name: 'Audit log' }).click();
      await frame.getByRole('heading', { name: 'Calls with this key' }).waitFor();
    }
    assert.equal(await frame.getByRole('button', { name: 'Details of GET /v1/invoices (401)' }).count(), 1, 'the old secret\'s refused call');

    // Latchkey's management log: the external user, through the host app's service key.
    const workspace = await northwindWorkspace();
    const log = await asService(`/v1/workspaces/${workspace}/management-events?limit=50`);
    assert.equal(log.status, 200, JSON.stringify(log.body));
    const byAda = (log.body.data as Array<{ action: string; actor: { type: string; external_id?: string; email?: string } }>).filter(
      (event) => event.actor.type === 'external_user' && event.actor.external_id === ADMIN.id,
    );
    for (const action of ['api_key.create', 'api_key.rotate', 'api_key.secret_revoke']) assert.ok(byAda.some((event) => event.action === action), `${action} by ${ADMIN.id}`);
    assert.equal(byAda[0]!.actor.email, ADMIN.email);

    // The keys list, for the record, once the key has been used.
    await frame.getByRole('navigation', { name: 'Key management' }).getByRole('link', { name: 'API keys' }).click();
    await frame.getByRole('row', { name: /erp-sync/ }).waitFor();
    await page.evaluate('window.scrollTo(0, 0)'); // clicks in the frame scrolled the host page
    await shot(page, 'embed-host-app');

    // The narrow screen: the host's page and its frame fit, with no horizontal scroll.
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${hostOrigin}/settings/api-access`);
    await frameOf(phone).getByRole('row', { name: /erp-sync/ }).waitFor();
    assert.equal(await phone.evaluate<number>('document.documentElement.scrollWidth'), 390, 'the host page scrolls sideways');
    assert.equal(await frameOf(phone).locator('html').evaluate((html) => html.scrollWidth <= html.clientWidth), true, 'the frame scrolls sideways');
    await shot(phone, 'embed-host-app-phone', true);
    await context.close();
  });

  it('a viewer sees the keys with no create, rotate or revoke, and its session token is refused those calls', { timeout: 60_000 }, async () => {
    const workspace = await northwindWorkspace();
    const made = await asService(`/v1/workspaces/${workspace}/api-keys`, 'POST', { name: 'reporting', mode: 'live', scopes: ['invoices:read'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const context = await newContext();
    // The frame's own token, as Latchkey gives it (the console keeps it in memory when the browser denies storage to third-party frames).
    const exchanged = context.waitForEvent('response', (response) => response.url() === `${latchkey.url}/v1/embed/exchange`);
    const page = await signIn(context, VIEWER.name);
    const frame = frameOf(page);
    await frame.getByRole('row', { name: /reporting/ }).waitFor();
    assert.equal(await frame.getByRole('button', { name: /New API key/ }).count(), 0, 'no create');
    await frame.getByRole('row', { name: /reporting/ }).getByRole('link', { name: 'reporting' }).click();
    await frame.getByRole('heading', { name: /reporting/ }).first().waitFor();
    assert.equal(await frame.getByRole('button', { name: /Rotate|Revoke/ }).count(), 0, 'no rotate or revoke');

    const { token } = (await (await exchanged).json()) as { token: string };
    assert.match(token, /^inv_ems_/);
    const headers = { authorization: `Bearer ${token}` };
    assert.equal((await callJson(`${latchkey.url}/v1/workspaces/${workspace}/api-keys`, headers)).status, 200);
    const create = await callJson(`${latchkey.url}/v1/workspaces/${workspace}/api-keys`, headers, 'POST', { name: 'sneaky', mode: 'live', scopes: ['invoices:read'] });
    assert.equal(create.status, 403);
    assert.equal(create.body.error.code, 'insufficient_permission');
    const revoke = await fetch(`${latchkey.url}/v1/workspaces/${workspace}/api-keys/${made.body.id}`, { method: 'DELETE', headers });
    assert.equal(revoke.status, 403);
    assert.equal(((await revoke.json()) as Answer['body']).error.code, 'insufficient_permission');
    await context.close();
  });

  it('a link works once: opened again, it answers a clear "already used" page; the full-page link leads back to the host', { timeout: 60_000 }, async () => {
    const context = await newContext({ width: 1024, height: 768 });
    const page = await signIn(context, ADMIN.name);

    // "Open in a full page": Latchkey top level, with a way back to the host's settings.
    await page.getByRole('link', { name: /Open in a full page/ }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    assert.ok(page.url().startsWith(`${latchkey.url}/embed`), page.url());
    await page.getByRole('link', { name: 'Back to Invoicely' }).click();
    await page.getByRole('heading', { name: 'API access' }).waitFor();
    assert.equal(page.url(), `${hostOrigin}/settings/api-access`);

    const url = await mint();
    const first = await context.newPage();
    await first.goto(url);
    await first.getByRole('heading', { name: 'API keys' }).waitFor();
    const second = await context.newPage();
    await second.goto(url);
    await second.getByRole('heading', { name: /already (been )?used/i }).waitFor();
    await context.close();
  });

  it('only an origin of embed.allowed_origins may frame it', { timeout: 60_000 }, async () => {
    const response = await fetch(`${latchkey.url}/embed`);
    await response.arrayBuffer();
    const policy = response.headers.get('content-security-policy') ?? '';
    assert.match(policy, new RegExp(`frame-ancestors 'self' ${hostOrigin}(;|$| )`));
    assert.ok(!policy.includes(strangerOrigin), policy);
    assert.equal(response.headers.get('x-frame-options'), null);

    const context = await newContext({ width: 1024, height: 768 });
    const page = await context.newPage();
    strangerFrames = await mint();
    await page.goto(strangerOrigin); // waits for the frame's load too
    const framed = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(framed);
    assert.ok(!framed.url().startsWith(latchkey.url), `the frame shows ${framed.url()}`);
    assert.equal(await page.frameLocator('iframe').getByRole('heading', { name: 'API keys' }).count(), 0);
    // Never rendered, so the link was never spent: it still opens, top level.
    await page.goto(strangerFrames);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();

    // The allowed host's frame renders.
    const hostPage = await signIn(context, ADMIN.name);
    await frameOf(hostPage).getByRole('heading', { name: 'API keys' }).waitFor();
    await context.close();
  });
});

// An expired link, in the browser. Its 5 minutes are Latchkey's clock, which a test cannot move in another
// process; on PostgreSQL the test can make the link older instead, as time would (PGlite's files are the
// running server's alone).
describeOrSkip('an expired embedded link, in Chromium (Latchkey on PostgreSQL)', { skip: missing ?? postgresSkipReason ?? false }, () => {
  it('answers the clear "expired" page, with the way back to the product at top level', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-embed-expired-'));
    const database = await createTestDatabase();
    let latchkey: RunningServer | undefined;
    let browser: Browser | undefined;
    try {
      const productFile = join(dir, 'product.yaml');
      writeFileSync(productFile, `${readFileSync('examples/invoices/latchkey.product.yaml', 'utf8')}embed:\n  allowed_origins: ["http://localhost:3000"]\n`);
      const env = { DATABASE_URL: database.url, PRODUCT_FILE: productFile, LOG_LEVEL: 'warn' };
      latchkey = await startServer(process.execPath, ['dist/main.js'], env, await freePort());
      const serviceKey = (await run(process.execPath, ['dist/cli.js', 'create-service-key', '--name', 'web', '--permissions', 'embed:create,workspaces:write,keys:read'], { env: { ...process.env, ...env } })).stdout.trim();
      const headers = { authorization: `Bearer ${serviceKey}` };
      const workspace = await callJson(`${latchkey.url}/v1/workspaces`, headers, 'POST', { name: 'Northwind Traders', external_id: ACCOUNT });
      const link = await callJson(`${latchkey.url}/v1/embed/sessions`, headers, 'POST', {
        workspace_id: workspace.body.id,
        user: { external_id: ADMIN.id },
        capabilities: ['keys:read'],
        return_url: 'http://localhost:3000/settings/api-access',
      });
      assert.equal(link.status, 201, JSON.stringify(link.body));
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      await db.query(`update embed_sessions set code_expires_at = now() - interval '1 second' where id = $1`, [link.body.id]);
      await db.end();

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await page.goto(link.body.url);
      await page.getByRole('heading', { name: 'This link has expired' }).waitFor({ timeout: 15_000 });
      assert.equal(await page.getByRole('link', { name: 'Back to Invoicely' }).getAttribute('href'), 'http://localhost:3000/settings/api-access');
      assert.equal(await page.getByRole('heading', { name: 'API keys' }).count(), 0);
    } finally {
      await browser?.close();
      await latchkey?.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
