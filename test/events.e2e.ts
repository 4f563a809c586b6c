// Settings → Events and Anomalies end to end, in a real browser against the built server on PostgreSQL:
// an endpoint added with its secret shown once, a test event delivered to a real receiver on loopback that
// checks its signature, a rotation signing with both secrets, a retry; stored findings, the navigation's
// count, acknowledge and reopen. It also writes the screenshots of these pages (docs/screenshots/2x-*.png).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { verifyWebhook } from '../packages/sdk/src/webhook.js';
import { newId } from '../src/ids.js';
import { browserPrerequisiteMissing, launchChromium } from './fixtures/browser.js';
import { freePort, startServer, type RunningServer } from './process.js';
import { createTestDatabase, describeOrSkip, postgresSkipReason } from './services.js';

const SHOTS = 'docs/screenshots';
const CI = process.env.CI === 'true';
const OWNER = { email: 'owner@example.com', password: 'correct horse battery', workspace: 'Acme support' };
const WIDE = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

const missing = browserPrerequisiteMissing('the events and anomalies end-to-end test');
if (missing && CI) throw new Error(missing);
if (missing) console.log(`# skipping the events and anomalies end-to-end test: ${missing}`);

/** What the receiver was sent: one POST each, its exact body and the headers Latchkey signs with. */
interface Received {
  body: string;
  signature: string;
  eventId: string;
  eventType: string;
}

/** A webhook receiver on loopback: it keeps every request and answers 200, or 500 under /failing while `failing` holds. */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server; state: { failing: boolean } }> {
  const received: Received[] = [];
  const state = { failing: true };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(request.headers['latchkey-signature'] ?? ''),
        eventId: String(request.headers['latchkey-event-id'] ?? ''),
        eventType: String(request.headers['latchkey-event-type'] ?? ''),
      });
      if (state.failing && request.url?.startsWith('/failing')) response.writeHead(500, { 'content-type': 'text/plain' }).end('upstream down');
      else response.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}`, received, server, state };
}

describeOrSkip('Settings → Events and Anomalies, end to end in Chromium', { skip: missing ?? postgresSkipReason ?? false }, () => {
  let server: RunningServer;
  let browser: Browser;
  let dir: string;
  let database: { url: string; drop: () => Promise<void> };
  let db: pg.Client;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-events-'));
    mkdirSync(SHOTS, { recursive: true });
    database = await createTestDatabase();
    receiver = await startReceiver();
    server = await startServer(
      'node',
      ['dist/main.js'],
      // The receiver is on 127.0.0.1: deliveries there are refused unless private networks are allowed.
      { DATABASE_URL: database.url, DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn', EVENTS_ALLOW_PRIVATE_NETWORKS: 'true', EVENTS_POLL_MS: '200' },
      await freePort(),
    );
    const setup = await fetch(`${server.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: OWNER.email, password: OWNER.password, workspace_name: OWNER.workspace }),
    });
    assert.equal(setup.status, 201, await setup.text());
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await db?.end();
    receiver?.server.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The owner (or someone else), signed in on a new page of this width, on the API keys page. */
  async function signedIn(viewport = WIDE, who: { email: string; password: string } = OWNER): Promise<Page> {
    const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Europe/Paris' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('Email').fill(who.email);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /API keys|Owner or Admin role needed/ }).waitFor();
    return page;
  }

  /** A management API call as the page's session (its cookie and CSRF token). */
  async function apiAs(page: Page, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const me = (await (await page.request.get(`${server.url}/v1/auth/me`)).json()) as { csrf_token: string; workspaces: Array<{ id: string }> };
    const response = await page.request.fetch(`${server.url}${path.replace('{ws}', me.workspaces[0]!.id)}`, {
      method,
      headers: { 'x-csrf-token': me.csrf_token },
      ...(body === undefined ? {} : { data: body }),
    });
    return { status: response.status(), json: await response.json().catch(() => null) };
  }

  /** Waits for `check` to hold, or fails with `message` after 15 s. */
  async function eventually(check: () => Promise<boolean> | boolean, message: string): Promise<void> {
    for (const until = Date.now() + 15_000; !(await check()); await new Promise((r) => setTimeout(r, 100))) {
      assert.ok(Date.now() < until, message);
    }
  }

  const shot = (page: Page, name: string, fullPage = false) => page.screenshot({ path: `${SHOTS}/${name}.png`, animations: 'disabled', caret: 'hide', fullPage });

  it('adds an endpoint with its secret shown once, delivers a signed test event to a real receiver, retries it, rotates the secret (both sign), re-enables and deletes', { timeout: 180_000 }, async () => {
    const page = await signedIn();
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    await page.getByText('No endpoints yet.').waitFor();

    // Add endpoint: a URL, two event types rather than all, a description.
    await page.getByRole('button', { name: '+ Add endpoint' }).click();
    const form = page.getByRole('dialog', { name: 'Add endpoint' });
    await form.getByLabel('Endpoint URL').fill(`${receiver.url}/hooks/latchkey`);
    assert.equal(await form.getByRole('checkbox', { name: /api_key\.revoked/ }).isDisabled(), true, 'All events is the default');
    await form.getByRole('checkbox', { name: /All events/ }).uncheck();
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    await form.locator('fieldset.invalid .field-error').filter({ hasText: 'Choose at least one event, or All events.' }).waitFor();
    await form.getByRole('checkbox', { name: /api_key\.created/ }).check();
    await form.getByRole('checkbox', { name: /api_key\.revoked/ }).check();
    await form.getByLabel('Description (optional)').fill('Key changes, to the SIEM');
    await shot(page, '24-add-endpoint');
    await form.getByRole('button', { name: 'Add endpoint' }).click();

    // The signing secret, once, with Copy; closing by accident asks first.
    const shown = page.getByRole('alertdialog', { name: 'Endpoint added' });
    const secret = await shown.getByLabel('Signing secret').inputValue();
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.match(await shown.innerText(), /only time it is\s+shown/);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), secret);
    await page.keyboard.press('Escape');
    await shown.getByText('Close without copying?').waitFor();
    await shown.getByRole('button', { name: 'Keep it open' }).click();
    await shown.getByRole('button', { name: 'I have stored the secret' }).click();
    await shown.waitFor({ state: 'detached' });

    // Listed, and the secret is nowhere again: not on the page, not in the API's answers.
    const card = page.locator('li.endpoint').filter({ hasText: `${receiver.url}/hooks/latchkey` });
    await card.getByText(/api_key\.created, api_key\.revoked|api_key\.revoked, api_key\.created/).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the list does not hold the secret');
    const listed = await apiAs(page, 'GET', '/v1/workspaces/{ws}/event-endpoints');
    assert.equal(listed.status, 200);
    assert.ok(!JSON.stringify(listed.json).includes(secret));
    const endpointId = listed.json.data[0].id as string;

    // Its page: send a test event; the log shows it pending, then delivered; the receiver checks the signature.
    await card.getByRole('link', { name: /Deliveries and settings/ }).click();
    await page.getByRole('heading', { name: `${receiver.url}/hooks/latchkey` }).waitFor();
    await page.getByText('No deliveries yet.').waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    const testRow = page.getByRole('row', { name: /latchkey\.test/ });
    await testRow.getByText('Delivered').waitFor();
    await eventually(() => receiver.received.some((r) => r.eventType === 'latchkey.test'), 'the receiver got no test event');
    const test = receiver.received.find((r) => r.eventType === 'latchkey.test')!;
    const event = verifyWebhook(test.body, test.signature, secret);
    assert.equal(event.type, 'latchkey.test');
    assert.equal(event.id, test.eventId);
    assert.match(await testRow.innerText(), new RegExp(`${event.id}[\\s\\S]*Delivered[\\s\\S]*200`));

    // A key change the endpoint subscribes to is delivered too, in its own row.
    const created = await apiAs(page, 'POST', '/v1/workspaces/{ws}/api-keys', { name: 'crm-sync', scopes: ['conversations:read'] });
    assert.equal(created.status, 201);
    await eventually(() => receiver.received.some((r) => r.eventType === 'api_key.created'), 'the receiver got no api_key.created');
    const keyEvent = receiver.received.find((r) => r.eventType === 'api_key.created')!;
    assert.equal(verifyWebhook(keyEvent.body, keyEvent.signature, secret).type, 'api_key.created');
    assert.ok(!keyEvent.body.includes(created.json.secret), 'the event does not carry the key’s secret');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('row', { name: /api_key\.created/ }).getByText('Delivered').waitFor();

    // Each attempt, expanded: when, how long, the answer.
    await testRow.getByRole('button', { name: /Attempts of latchkey\.test/ }).click();
    const attempts = page.locator('tr.attempts-row');
    await attempts.getByText('Attempt 1').waitFor();
    assert.match(await attempts.innerText(), /Attempt 1[\s\S]*ms[\s\S]*200/);

    // Retry: the same event, byte for byte, is sent again; the delivery counts two attempts.
    await testRow.getByRole('button', { name: /Retry latchkey\.test/ }).click();
    await eventually(() => receiver.received.filter((r) => r.eventId === event.id).length === 2, 'the retried test event did not arrive again');
    const [first, second] = receiver.received.filter((r) => r.eventId === event.id);
    assert.equal(second!.body, first!.body);
    await eventually(async () => (await testRow.locator('td[data-label="Attempts"]').innerText()).trim() === '2', 'the log does not count 2 attempts');
    await attempts.getByText('Attempt 2').waitFor();

    // Edit: every event now, including types added later.
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit endpoint' });
    assert.equal(await edit.getByLabel('Endpoint URL').inputValue(), `${receiver.url}/hooks/latchkey`);
    assert.equal(await edit.getByRole('checkbox', { name: /api_key\.created/ }).isChecked(), true);
    await edit.getByRole('checkbox', { name: /All events/ }).check();
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await eventually(async () => /Events\s*All events/i.test(await page.locator('.facts').innerText()), 'the endpoint does not say All events');

    // Rotate: the dialog explains the 24 h overlap; the new secret is shown once; both sign meanwhile.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotate = page.getByRole('alertdialog', { name: 'Rotate the signing secret?' });
    assert.match(await rotate.innerText(), /24 hours[\s\S]*both the old and the new secret/);
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = page.getByRole('alertdialog', { name: 'New signing secret' });
    const newSecret = await rotated.getByLabel('Signing secret').inputValue();
    assert.match(newSecret, /^whsec_/);
    assert.notEqual(newSecret, secret);
    await rotated.getByRole('button', { name: 'Copy' }).click();
    await rotated.getByRole('button', { name: 'I have stored the secret' }).click();
    assert.match(await page.locator('.facts').innerText(), /Previous secret signs for\s*(23 h 59 min|24 h 0 min)/i);
    const before = receiver.received.length;
    await page.getByRole('button', { name: 'Send test event' }).click();
    await eventually(() => receiver.received.slice(before).some((r) => r.eventType === 'latchkey.test'), 'the receiver got no second test event');
    const afterRotation = receiver.received.slice(before).find((r) => r.eventType === 'latchkey.test')!;
    assert.equal(afterRotation.signature.match(/v1=/g)?.length, 2, afterRotation.signature);
    assert.equal(verifyWebhook(afterRotation.body, afterRotation.signature, newSecret).type, 'latchkey.test');
    assert.equal(verifyWebhook(afterRotation.body, afterRotation.signature, secret).type, 'latchkey.test');

    // A receiver that answers 500: the delivery stays pending (retried later), its answer in the log; once the
    // receiver recovers, Retry delivers it at once.
    const failing = await apiAs(page, 'POST', '/v1/workspaces/{ws}/event-endpoints', { url: `${receiver.url}/failing`, events: ['api_key.revoked'] });
    assert.equal(failing.status, 201);
    await page.goto(`${server.url}/events/${failing.json.id}`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    const failingRow = page.getByRole('row', { name: /latchkey\.test/ });
    await eventually(async () => /Pending[\s\S]*next[\s\S]*500/.test(await failingRow.innerText()), 'the failed attempt is not shown as pending with its 500');
    receiver.state.failing = false;
    await failingRow.getByRole('button', { name: /Retry latchkey\.test/ }).click();
    await failingRow.getByText('Delivered').waitFor();
    await failingRow.getByRole('button', { name: /Attempts of latchkey\.test/ }).click();
    const failingAttempts = page.locator('tr.attempts-row');
    await failingAttempts.getByText('Attempt 2').waitFor();
    assert.match(await failingAttempts.innerText(), /Attempt 1[\s\S]*500[\s\S]*Response[\s\S]*Attempt 2[\s\S]*200/);
    await failingAttempts.getByText('Response').first().click();
    await failingAttempts.getByText('upstream down').waitFor();
    await shot(page, '25-event-endpoint', true);
    assert.equal((await apiAs(page, 'DELETE', `/v1/workspaces/{ws}/event-endpoints/${failing.json.id}`)).status, 204);

    // Disabled by Latchkey after failing for days (set here as the worker does, src/events/delivery-repo.ts): the reason shows, with Re-enable.
    await db.query(`update event_endpoints set enabled = false, disabled_at = now() - interval '2 hours', disabled_reason = $2 where id = $1`, [
      endpointId,
      'Every delivery failed for 3 days; last error: connect ECONNREFUSED 127.0.0.1:9',
    ]);
    await page.getByRole('link', { name: 'Events', exact: true }).first().click();
    const warning = card.locator('.note.warning');
    await warning.getByText(/Disabled 2 hours ago: Every delivery failed for 3 days/).waitFor();
    await shot(page, '26-events', true);
    const phone = await signedIn(PHONE);
    await phone.goto(`${server.url}/events`);
    await phone.locator('.note.warning').waitFor();
    await shot(phone, '27-events-narrow', true);
    await phone.goto(`${server.url}/events/${endpointId}`);
    await phone.getByRole('row', { name: /api_key\.created/ }).waitFor();
    await shot(phone, '28-event-endpoint-narrow', true);
    await warning.getByRole('button', { name: 'Re-enable' }).click();
    await warning.waitFor({ state: 'detached' });
    await card.getByText('Enabled', { exact: true }).waitFor();
    const enabled = await apiAs(page, 'GET', `/v1/workspaces/{ws}/event-endpoints/${endpointId}`);
    assert.deepEqual([enabled.json.enabled, enabled.json.disabled_at, enabled.json.disabled_reason], [true, null, null]);

    // Delete, confirmed first: back to the empty list.
    await card.getByRole('link', { name: /Deliveries and settings/ }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Delete this endpoint?' });
    assert.match(await confirm.innerText(), /cannot be undone/);
    await confirm.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    assert.equal((await apiAs(page, 'GET', `/v1/workspaces/{ws}/event-endpoints/${endpointId}`)).status, 404);
  });

  it('lists stored findings open first with their evidence, counts the open ones in the navigation, links to their audit events; acknowledging clears the count', { timeout: 120_000 }, async () => {
    const page = await signedIn();
    const key = await apiAs(page, 'POST', '/v1/workspaces/{ws}/api-keys', { name: 'billing-export', scopes: ['conversations:read'] });
    assert.equal(key.status, 201);
    const me = (await apiAs(page, 'GET', '/v1/auth/me')).json;
    const [workspaceId, ownerId] = [me.workspaces[0].id as string, me.user.id as string];

    // Findings as the detector stores them (its rules are tested on their own): two open, one resolved.
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
    const iso = (offsetMinutes: number) => new Date(hour.getTime() + offsetMinutes * 60_000).toISOString();
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    const insert = (rule: string, severity: string, status: string, summary: string, evidence: unknown, detectedMinutes: number) =>
      db.query(
        `insert into anomaly_findings (id, workspace_id, api_key_id, rule, severity, fingerprint, summary, evidence, status, window_start, window_end, detected_at,
           resolved_at, resolved_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          newId('anf'),
          workspaceId,
          key.json.id,
          rule,
          severity,
          `${rule}:${key.json.id}:${hour.toISOString()}`,
          summary,
          JSON.stringify(evidence),
          status,
          hour.toISOString(),
          iso(60),
          ago(detectedMinutes),
          status === 'resolved' ? ago(1) : null,
          status === 'resolved' ? ownerId : null,
        ],
      );
    await insert(
      'ip_refused',
      'high',
      'open',
      'billing-export: 37 calls refused by its IP allowlist, from 2 IPs',
      {
        refused: 37,
        per_hour: [{ hour: hour.toISOString(), requests: 37 }],
        ips: [
          { ip: '203.0.113.9', requests: 30, first_seen: iso(5), last_seen: iso(50) },
          { ip: '198.51.100.23', requests: 7, first_seen: iso(12), last_seen: iso(14) },
        ],
        ip_count: 2,
        ips_complete: true,
      },
      4,
    );
    await insert(
      'new_source_ip',
      'medium',
      'open',
      'billing-export was called from a new network, 198.51.100.0/24',
      { ip: '198.51.100.23', network: '198.51.100.0/24', ip_count: 1, first_seen: iso(12), last_seen: iso(14), requests: 12, lookback_days: 30 },
      3,
    );
    await insert(
      'volume_spike',
      'low',
      'resolved',
      'billing-export: 1,250 requests in one hour, 31× its usual',
      { hour: hour.toISOString(), requests: 1250, threshold: 310.4, baseline: { hours: 168, mean: 40.2, stddev: 60.1, peak: 180 } },
      2,
    );

    // The navigation counts the open ones (on the next load here; the console also looks every minute).
    await page.reload();
    const nav = page.getByRole('navigation', { name: 'Settings' });
    const anomaliesLink = nav.getByRole('link', { name: /^Anomalies/ });
    await nav.getByRole('link', { name: 'Anomalies 2 open' }).waitFor();
    await anomaliesLink.click();
    await page.getByRole('heading', { name: 'Anomalies', exact: true }).waitFor();

    // Open first, each with its severity, key, and evidence in words.
    const cards = page.locator('li.finding');
    await eventually(async () => (await cards.count()) === 3, 'three findings are not listed');
    const titles = await cards.locator('h2').allInnerTexts();
    assert.deepEqual(titles.slice(0, 2).sort(), ['Calls refused by the IP allowlist', 'New source IP']);
    assert.equal(titles[2], 'Volume spike');
    const refused = cards.filter({ hasText: 'Calls refused by the IP allowlist' });
    assert.match(await refused.innerText(), /HIGH[\s\S]*Open[\s\S]*37 calls refused[\s\S]*billing-export[\s\S]*203\.0\.113\.9 — 30 refused/i);
    const network = cards.filter({ hasText: 'New source IP' });
    assert.match(await network.innerText(), /198\.51\.100\.0\/24 — 1 IP, first 198\.51\.100\.23[\s\S]*not called from this network in the 30 days before/);
    const spike = cards.filter({ hasText: 'Volume spike' });
    assert.match(await spike.innerText(), /Resolved[\s\S]*Resolved\s*1 minute ago by you/i);
    assert.equal(await spike.locator('details').getAttribute('open'), null, 'a resolved finding’s evidence starts folded');
    await spike.getByText('Evidence').click();
    assert.match(await spike.innerText(), /1,250 in the hour from[\s\S]*40\.2 an hour on average/);
    // The colours: high, medium and low each their own.
    type Styles = { getComputedStyle(element: unknown): { color: string } };
    const colour = (card: typeof refused) => card.locator('.badge.severity').evaluate((el) => (globalThis as unknown as Styles).getComputedStyle(el).color);
    assert.notEqual(await colour(refused), await colour(network));
    assert.notEqual(await colour(network), await colour(spike));
    await shot(page, '29-anomalies', true);

    // The phone.
    const phone = await signedIn(PHONE);
    await phone.goto(`${server.url}/anomalies`);
    await phone.locator('li.finding').first().waitFor();
    await shot(phone, '30-anomalies-narrow', true);

    // The matching audit events: the audit log opens filtered by the finding's key, window and IP.
    await network.getByRole('link', { name: /Matching audit events/ }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const filters = page.getByRole('form', { name: 'Audit log filters' });
    await eventually(async () => (await filters.getByLabel('Key').inputValue()) === key.json.id, 'the audit log is not filtered by the key');
    assert.equal(await filters.getByLabel('Source IP').inputValue(), '198.51.100.23');
    assert.notEqual(await filters.getByLabel('From').inputValue(), '');
    const search = new URL(page.url()).searchParams;
    assert.deepEqual([search.get('from'), search.get('to')], [hour.toISOString(), iso(60)]);
    await page.goBack();

    // Acknowledge both open findings: the count goes down, then away.
    await page.getByRole('button', { name: 'Acknowledge: Calls refused by the IP allowlist on billing-export' }).click();
    await nav.getByRole('link', { name: 'Anomalies 1 open' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'acknowledged' }).waitFor();
    await page.getByRole('button', { name: 'Acknowledge: New source IP on billing-export' }).click();
    await eventually(async () => (await nav.locator('.nav-count').count()) === 0, 'the navigation still counts open findings');
    assert.equal((await anomaliesLink.innerText()).trim(), 'Anomalies');
    const open = await apiAs(page, 'GET', '/v1/workspaces/{ws}/anomalies?status=open&limit=1');
    assert.equal(open.json.open_count, 0);

    // Reopened, it counts again; resolved, not.
    await page.getByRole('button', { name: 'Reopen: Volume spike on billing-export' }).click();
    await nav.getByRole('link', { name: 'Anomalies 1 open' }).waitFor();
    await page.getByRole('button', { name: 'Resolve: Volume spike on billing-export' }).click();
    await eventually(async () => (await nav.locator('.nav-count').count()) === 0, 'a resolved finding is still counted');
  });

  it('a Member is told the pages need an Owner or Admin, and no count of findings is asked for', { timeout: 60_000 }, async () => {
    const owner = await signedIn();
    const member = { email: 'member@example.com', password: 'member password 1' };
    const invited = await apiAs(owner, 'POST', '/v1/workspaces/{ws}/members', { email: member.email, role: 'member' });
    assert.equal(invited.status, 201);
    const accepted = await fetch(`${server.url}/v1/invitations/${invited.json.token}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: member.password }),
    });
    assert.equal(accepted.status, 200, await accepted.text());

    const page = await signedIn(WIDE, member);
    const asked: string[] = [];
    page.on('request', (request) => asked.push(request.url()));
    await page.reload();
    await page.getByRole('heading', { name: 'Owner or Admin role needed' }).waitFor();
    for (const link of ['Events', 'Anomalies']) {
      await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: 'Owner or Admin role needed' }).waitFor();
      assert.match(await page.locator('main').innerText(), /anomalies, events and members/);
    }
    assert.equal(await page.locator('.nav-count').count(), 0);
    // The Anomalies page asks (and is refused); the navigation's count (status=open, limit=1) is never asked for.
    assert.ok(asked.some((url) => new URL(url).pathname.endsWith('/anomalies')), asked.join(' '));
    assert.ok(!asked.some((url) => new URL(url).searchParams.get('status') === 'open'), asked.join(' '));
  });
});
