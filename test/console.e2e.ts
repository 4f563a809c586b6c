// The console end to end, in a real browser against the built server: the seeds' flows as a person
// plays them. It also writes the screenshots of docs/user-guide.md (docs/screenshots/*.png).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeOrSkip } from './skip.js';
import type { Browser, Page } from 'playwright-core';
import { browserPrerequisiteMissing, launchChromium } from './fixtures/browser.js';
import { freePort, startServer, type RunningServer } from './process.js';

const SHOTS = 'docs/screenshots';
const CI = process.env.CI === 'true';
const OWNER = { email: 'owner@example.com', password: 'correct horse battery', workspace: 'Acme support' };
const MEMBER = { email: 'member@example.com', password: 'member password 1' };

const missing = browserPrerequisiteMissing("the console's end-to-end test");
if (missing && CI) throw new Error(missing);
if (missing) console.log(`# skipping the console end-to-end test: ${missing}`);

describeOrSkip('the console, end to end in Chromium', { skip: missing ?? false }, () => {
  let server: RunningServer;
  let browser: Browser;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-console-'));
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer('node', ['dist/main.js'], { DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' }, await freePort());
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Europe/Paris' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    context.setDefaultTimeout(15_000);
    return context.newPage();
  }

  /** Lists reload after a change: waits for `check` to hold, or fails with `message` after 10 s. */
  async function eventually(check: () => Promise<boolean>, message: string): Promise<void> {
    for (const until = Date.now() + 10_000; !(await check()); await new Promise((r) => setTimeout(r, 100))) {
      assert.ok(Date.now() < until, message);
    }
  }

  /** The current workspace, as the console's Members page calls it. */
  async function workspaceIdOf(page: Page): Promise<string> {
    const me = (await (await page.request.get(`${server.url}/v1/auth/me`)).json()) as { workspaces: Array<{ id: string }> };
    return me.workspaces[0]!.id;
  }

  const shot = (page: Page, name: string, fullPage = false) => page.screenshot({ path: `${SHOTS}/${name}.png`, animations: 'disabled', caret: 'hide', fullPage });

  async function callApi(secret: string, path = '/api/v1/conversations?limit=2'): Promise<number> {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
    await response.arrayBuffer();
    return response.status;
  }

  it('sets up, creates a key, shows its secret once, rotates, revokes, audits; invites a Member, who joins and is refused, then promoted with a confirmation and removed', { timeout: 240_000 }, async () => {
    const page = await newPage();

    // First run: the setup page.
    await page.goto(server.url);
    await page.getByRole('heading', { name: 'Set up Latchkey' }).waitFor();
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByLabel('Workspace name').fill(OWNER.workspace);
    await shot(page, '01-setup');
    await page.getByRole('button', { name: 'Create owner and workspace' }).click();

    // Settings → API keys, empty.
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByText('No API keys yet.').waitFor();
    await shot(page, '02-keys-empty');

    // + New API key: the API's validation message lands under its field.
    await page.getByRole('button', { name: '+ New API key' }).click();
    const form = page.getByRole('dialog', { name: 'New API key' });
    await form.getByLabel('Name').fill('crm-sync');
    await form.getByRole('button', { name: 'Create' }).click();
    await form.locator('fieldset.scopes .field-error').waitFor();
    await form.getByRole('checkbox', { name: /conversations:read/ }).check();
    await form.getByRole('checkbox', { name: /contacts:write/ }).check();
    await shot(page, '03-new-key-form');
    await form.getByRole('button', { name: 'Create' }).click();

    // Shown once: the full secret, a Copy button, the warning; Escape asks before closing.
    const shown = page.getByRole('alertdialog', { name: 'API key crm-sync created' });
    await shown.waitFor();
    const secret = await shown.getByLabel('Secret key').inputValue();
    assert.match(secret, /^lk_live_/);
    assert.match(await shown.innerText(), /only time its full secret is shown[\s\S]*not be able to see it again/);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), secret);
    await shot(page, '04-secret-shown-once');
    await page.keyboard.press('Escape');
    await shown.getByText('Close without copying?').waitFor();
    await shown.getByRole('button', { name: 'Keep it open' }).click();
    assert.equal(await shown.getByLabel('Secret key').inputValue(), secret);
    await shown.getByRole('button', { name: 'I have stored the key' }).click();
    await shown.waitFor({ state: 'detached' });

    // The list says Never until the key is used; "last used" is flushed once a second.
    const row = page.getByRole('row', { name: /crm-sync/ });
    assert.equal((await row.locator('.last-used').innerText()).trim(), 'Never');
    assert.equal(await callApi(secret), 200);
    assert.equal(await callApi(secret, '/api/v1/contacts'), 403, 'contacts:read was not granted');
    const deadline = Date.now() + 20_000;
    while ((await row.locator('.last-used').innerText()).trim() === 'Never') {
      assert.ok(Date.now() < deadline, 'Last used still says Never');
      await page.waitForTimeout(500);
      await page.reload();
      await row.waitFor();
    }
    assert.ok(await row.locator('.last-used time').getAttribute('title'), 'the exact local time is in the title');
    await shot(page, '05-keys-list');

    // The key's page: rotate with the default 24 h overlap; the new secret is shown once, the same way.
    await row.getByRole('link', { name: 'crm-sync' }).click();
    await page.getByRole('heading', { name: /crm-sync/ }).first().waitFor();
    await page.getByRole('heading', { name: 'Secret versions' }).waitFor();
    await shot(page, '06-key-page');
    await page.getByRole('button', { name: 'Rotate' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate crm-sync' });
    assert.equal(await rotate.getByLabel('Overlap').inputValue(), '86400');
    await rotate.getByRole('button', { name: 'Rotate' }).click();
    const rotated = page.getByRole('alertdialog', { name: 'New secret for crm-sync' });
    const newSecret = await rotated.getByLabel('Secret key').inputValue();
    assert.notEqual(newSecret, secret);
    await rotated.getByRole('button', { name: 'I have stored the key' }).click();
    await page.getByRole('button', { name: 'Revoke v1' }).waitFor();
    assert.match(await page.locator('.countdown').first().innerText(), /23 h 59 min|24 h 0 min/);
    await shot(page, '07-key-rotated');
    assert.equal(await callApi(secret), 200, 'the old secret works during the overlap');
    assert.equal(await callApi(newSecret), 200);

    // Revoke the old version early.
    await page.getByRole('button', { name: 'Revoke v1' }).click();
    const revokeVersion = page.getByRole('alertdialog', { name: /Revoke version 1 of crm-sync/ });
    assert.match(await revokeVersion.innerText(), /cannot be undone/);
    await revokeVersion.getByRole('button', { name: 'Revoke v1' }).click();
    await page.getByRole('button', { name: 'Revoke v1' }).waitFor({ state: 'detached' });
    assert.equal(await callApi(secret), 401, 'the old version is revoked');
    assert.equal(await callApi(newSecret), 200);

    // Its last 30 days.
    await page.getByRole('link', { name: 'Last 30 days' }).click();
    await page.getByRole('heading', { name: 'Last 30 days' }).waitFor();
    await page.getByRole('heading', { name: 'Top routes' }).waitFor();
    await shot(page, '08-key-usage');

    // Revoke the key, confirmed first.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Revoke key' }).click();
    const revokeKey = page.getByRole('alertdialog', { name: 'Revoke crm-sync?' });
    assert.match(await revokeKey.innerText(), /crm-sync[\s\S]*cannot be undone/);
    await shot(page, '09-revoke-key');
    await revokeKey.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('This key is revoked').waitFor();
    assert.equal(await callApi(newSecret), 401, 'the key is revoked');

    // The calls, in the audit log; one event in full.
    await page.getByRole('link', { name: 'Audit log' }).first().click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByRole('cell', { name: /GET \/api\/v1\/conversations/ }).first().waitFor();
    assert.ok((await page.getByRole('cell', { name: /GET \/api\/v1\/contacts/ }).count()) >= 1);
    await page.getByLabel('Status').fill('4xx');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('cell', { name: /GET \/api\/v1\/contacts/ }).first().waitFor();
    await shot(page, '10-audit-log');
    // A call with a query string: its payload is kept (7 days by default) and shown in full.
    await page.getByRole('button', { name: /Details of GET \/api\/v1\/conversations/ }).first().click();
    const event = page.getByRole('dialog', { name: 'Audit event' });
    await event.getByRole('heading', { name: 'Payload' }).waitFor();
    assert.match(await event.innerText(), /api_key_revoked[\s\S]*"limit"/);
    await shot(page, '11-audit-event');
    await event.getByRole('button', { name: 'Close' }).click();

    // Export the filtered range as CSV: progress is counted, then the file is saved.
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'CSV' }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /^latchkey-audit-.*\.csv$/);
    const csv = await readFile((await download.path())!, 'utf8');
    const rows = csv.trim().split('\r\n');
    assert.match(rows[0]!, /^id,created_at,/);
    assert.ok(rows.length >= 2 && rows.slice(1).every((row) => /,4\d\d,/.test(row)), 'only the filtered 4xx calls');
    await page.getByRole('status').filter({ hasText: `Exported ${rows.length - 1} events` }).waitFor();

    // Members: invite one with the Member role; the link is shown once, with Copy.
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor();
    await page.getByLabel('Email').fill(MEMBER.email);
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Create invitation link' }).click();
    const invited = page.getByRole('alertdialog', { name: `Invitation for ${MEMBER.email}` });
    const inviteUrl = await invited.getByLabel('Invitation link').inputValue();
    assert.match(inviteUrl, new RegExp(`^${server.url}/#/invite/[A-Za-z0-9_-]{43}$`));
    await invited.getByRole('button', { name: 'Copy' }).click();
    await invited.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), inviteUrl);
    await shot(page, '15-invite-link');
    await invited.getByRole('button', { name: 'Done' }).click();
    const pendingRow = page.getByRole('row', { name: new RegExp(MEMBER.email) });
    await pendingRow.getByRole('button', { name: `Revoke the invitation for ${MEMBER.email}` }).waitFor();
    await shot(page, '12-members');

    // Revoking an invitation asks first; cancelled here.
    await pendingRow.getByRole('button', { name: /Revoke the invitation/ }).click();
    const revokeInvite = page.getByRole('alertdialog', { name: `Revoke the invitation for ${MEMBER.email}?` });
    await revokeInvite.getByRole('button', { name: 'Cancel' }).click();
    await revokeInvite.waitFor({ state: 'detached' });

    // The narrow screen, for the record.
    const phone = await newPage({ width: 390, height: 844 });
    await phone.goto(`${server.url}/keys`);
    await phone.getByRole('heading', { name: 'Sign in to Latchkey' }).waitFor();
    await shot(phone, '13-sign-in');

    // The person opens the link in their own browser, chooses a password, and is in, as a Member.
    await phone.goto(inviteUrl);
    await phone.getByRole('heading', { name: `Join ${OWNER.workspace}` }).waitFor();
    assert.match(await phone.locator('main').innerText(), new RegExp(`${OWNER.email} invited ${MEMBER.email} to join as Member`));
    await phone.getByLabel('Choose a password').fill(MEMBER.password);
    await shot(phone, '16-accept-invitation');
    await phone.getByRole('button', { name: 'Create account and join' }).click();
    // A Member is refused the management pages, clearly.
    await phone.getByRole('heading', { name: 'Owner or Admin role needed' }).waitFor();
    assert.equal(new URL(phone.url()).hash, '', 'the spent link is off the address bar');
    await shot(phone, '14-member-refused');
    // The link worked once.
    const again = await newPage({ width: 390, height: 844 });
    await again.goto(inviteUrl);
    await again.getByRole('heading', { name: 'This invitation link does not work' }).waitFor();

    // Back with the Owner: the Member is listed. A role change asks first: cancelled, nothing changes.
    await page.reload();
    const memberRow = page.getByRole('row', { name: new RegExp(MEMBER.email) }).filter({ has: page.getByLabel(`Role of ${MEMBER.email}`) });
    const roleSelect = memberRow.getByLabel(`Role of ${MEMBER.email}`);
    assert.equal(await roleSelect.inputValue(), 'member');
    assert.equal(await page.getByText('No pending invitations.').count(), 1);
    await roleSelect.focus();
    await page.keyboard.press('ArrowUp');
    const confirmRole = page.getByRole('alertdialog', { name: `Make ${MEMBER.email} Admin?` });
    await confirmRole.waitFor();
    await confirmRole.getByRole('button', { name: 'Cancel' }).click();
    await confirmRole.waitFor({ state: 'detached' });
    assert.equal(await roleSelect.inputValue(), 'member', 'a cancelled change leaves the role as it was');
    const roles = await page.request.get(`${server.url}/v1/workspaces/${await workspaceIdOf(page)}/members`);
    assert.deepEqual(((await roles.json()) as { data: Array<{ email: string; role: string }> }).data.map((m) => m.role).sort(), ['member', 'owner']);

    // Confirmed: now an Admin, and the Member's console opens the keys at the next load.
    await roleSelect.selectOption('admin');
    await confirmRole.waitFor();
    assert.match(await confirmRole.innerText(), /manage API keys/);
    await shot(page, '17-change-role');
    await confirmRole.getByRole('button', { name: 'Make Admin' }).click();
    await page.getByRole('status').filter({ hasText: `${MEMBER.email} is now Admin.` }).waitFor();
    await eventually(async () => (await roleSelect.inputValue()) === 'admin', 'the role select still says member');
    await phone.reload();
    await phone.getByRole('heading', { name: 'API keys' }).waitFor();

    // Removing someone asks first, then takes them out.
    await memberRow.getByRole('button', { name: `Remove ${MEMBER.email}` }).click();
    const remove = page.getByRole('alertdialog', { name: `Remove ${MEMBER.email}?` });
    assert.match(await remove.innerText(), /loses access/);
    await remove.getByRole('button', { name: 'Remove member' }).click();
    await page.getByRole('status').filter({ hasText: `${MEMBER.email} was removed.` }).waitFor();
    await eventually(async () => (await page.getByLabel(`Role of ${MEMBER.email}`).count()) === 0, 'the removed member is still listed');
  });

  describe('a deployment with its own product file (docs/examples/acme.product.yaml)', () => {
    let acme: RunningServer;
    const ACME_OWNER = { email: 'owner@acme.example', password: 'acme owner password', workspace: 'Acme CRM customers' };

    before(async () => {
      acme = await startServer(
        'node',
        ['dist/main.js'],
        // The acme file has a gateway; its listener goes to a free port rather than the file's 8080.
        { DATA_DIR: join(dir, 'acme-data'), LOG_LEVEL: 'warn', PRODUCT_FILE: 'docs/examples/acme.product.yaml', GATEWAY_PORT: String(await freePort()) },
        await freePort(),
      );
    });

    after(async () => {
      await acme?.stop();
    });

    /** Signs the Acme owner in (setting the installation up on the first call) on a new page of this width. */
    async function acmePage(viewport: { width: number; height: number }): Promise<Page> {
      const page = await newPage(viewport);
      await page.goto(acme.url);
      const setup = page.getByRole('heading', { name: 'Set up Acme CRM' });
      const signIn = page.getByRole('heading', { name: 'Sign in to Acme CRM' });
      await setup.or(signIn).waitFor();
      if (await setup.isVisible()) {
        await page.getByLabel('Email').fill(ACME_OWNER.email);
        await page.getByLabel('Password').fill(ACME_OWNER.password);
        await page.getByLabel('Workspace name').fill(ACME_OWNER.workspace);
        await page.getByRole('button', { name: 'Create owner and workspace' }).click();
      } else {
        await page.getByLabel('Email').fill(ACME_OWNER.email);
        await page.getByLabel('Password').fill(ACME_OWNER.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
      }
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      return page;
    }

    /** A key made through the management API, as the signed-in page's session (cookie and CSRF token). */
    async function createKeyByApi(page: Page, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
      const me = (await (await page.request.get(`${acme.url}/v1/auth/me`)).json()) as { csrf_token: string; workspaces: Array<{ id: string }> };
      const response = await page.request.post(`${acme.url}/v1/workspaces/${me.workspaces[0]!.id}/api-keys`, {
        headers: { 'x-csrf-token': me.csrf_token },
        data: body,
      });
      return { status: response.status(), json: (await response.json()) as Record<string, unknown> };
    }

    it('names the product in the shell, lists its catalog by group, and checks metadata before sending it', { timeout: 120_000 }, async () => {
      const page = await acmePage({ width: 1440, height: 900 });
      assert.equal((await page.locator('.brand').innerText()).trim(), 'Acme CRM');
      assert.equal(await page.title(), 'Acme CRM console');

      await page.getByRole('button', { name: '+ New API key' }).click();
      const form = page.getByRole('dialog', { name: 'New API key' });
      for (const group of ['Contacts', 'Deals', 'API keys']) await form.getByRole('group', { name: group }).waitFor();
      assert.equal(await form.getByRole('checkbox', { name: /conversations:read/ }).count(), 0, 'no reference scope');
      assert.match(await form.getByRole('group', { name: 'Deals' }).innerText(), /deals:write[\s\S]*Create deals and move them between stages/);
      await form.getByLabel('Name').fill('billing-sync');
      await form.getByRole('checkbox', { name: /contacts:read/ }).check();
      await form.getByRole('checkbox', { name: /deals:write/ }).check();

      // Metadata that is not a JSON object, or over 4 KB, is refused under its field before any request.
      const meta = form.getByLabel('Metadata (optional)');
      await meta.fill('["cus_42"]');
      await form.getByRole('button', { name: 'Create' }).click();
      await form.locator('.field.invalid').filter({ hasText: 'must be a JSON object' }).waitFor();
      await meta.fill(JSON.stringify({ note: 'x'.repeat(4100) }));
      await form.getByRole('button', { name: 'Create' }).click();
      await form.locator('.field.invalid').filter({ hasText: 'at most 4 KB' }).waitFor();
      await meta.fill('{"customer_id": "cus_42"');
      await form.getByRole('button', { name: 'Create' }).click();
      await form.locator('.field.invalid').filter({ hasText: 'valid JSON' }).waitFor();
      await shot(page, '18-product-new-key-form');
      await meta.fill('');
      await form.getByRole('button', { name: 'Create' }).click();
      const shown = page.getByRole('alertdialog', { name: 'API key billing-sync created' });
      assert.match(await shown.getByLabel('Secret key').inputValue(), /^acme_live_/);
      await shown.getByRole('button', { name: 'Copy' }).click();
      await shown.getByRole('button', { name: 'I have stored the key' }).click();
      await page.getByRole('row', { name: /billing-sync/ }).waitFor();

      // The narrow screen: the same form, its expiry and metadata fields.
      const phone = await acmePage({ width: 390, height: 844 });
      await phone.getByRole('button', { name: '+ New API key' }).click();
      const narrow = phone.getByRole('dialog', { name: 'New API key' });
      await narrow.getByLabel('Metadata (optional)').fill('{\n  "customer_id": "cus_42"\n}');
      await narrow.getByLabel('Expires (optional)').scrollIntoViewIfNeeded();
      await shot(phone, '23-product-new-key-form-narrow');
    });

    it('shows and edits a key\'s metadata and expiry; a key past its expiry reads Expired in the list', { timeout: 120_000 }, async (t) => {
      const page = await acmePage({ width: 1440, height: 900 });
      // The key API's meta and expires_at come from a sibling change; without them there is nothing to show.
      const probe = await createKeyByApi(page, { name: 'nightly-report', scopes: ['deals:read'], meta: { plan: 'pro' }, expires_at: new Date(Date.now() + 3_000).toISOString() });
      if (probe.status === 400 && /meta|expires_at/.test(JSON.stringify(probe.json))) {
        t.skip('this server\'s key API has no meta / expires_at yet');
        return;
      }
      assert.equal(probe.status, 201, JSON.stringify(probe.json));

      // Created from the form with metadata and an expiry a month ahead (the input is in the browser's time).
      await page.getByRole('button', { name: '+ New API key' }).click();
      const form = page.getByRole('dialog', { name: 'New API key' });
      await form.getByLabel('Name').fill('crm-export');
      await form.getByRole('checkbox', { name: /contacts:read/ }).check();
      await form.getByLabel('Metadata (optional)').fill('{"customer_id": "cus_42", "tier": "gold"}');
      await form.getByLabel('Expires (optional)').fill('2099-01-31T18:30');
      await form.getByRole('button', { name: 'Create' }).click();
      const shown = page.getByRole('alertdialog', { name: 'API key crm-export created' });
      await shown.getByRole('button', { name: 'Copy' }).click();
      await shown.getByRole('button', { name: 'I have stored the key' }).click();

      // Past its expiry, the API-made key reads Expired; the other one does not.
      const expired = page.getByRole('row', { name: /nightly-report/ });
      await eventually(async () => {
        await page.reload();
        await expired.waitFor();
        return (await expired.getByText('Expired', { exact: true }).count()) === 1;
      }, 'nightly-report does not read Expired');
      assert.equal(await page.getByRole('row', { name: /crm-export/ }).getByText('Expired', { exact: true }).count(), 0);
      await shot(page, '19-product-keys-expired');

      // The key's page shows both, and edits them: the expiry cleared is "Never".
      await page.getByRole('row', { name: /crm-export/ }).getByRole('link', { name: 'crm-export' }).click();
      await page.getByRole('heading', { name: /crm-export/ }).first().waitFor();
      assert.match(await page.locator('.facts').innerText(), /Expires[\s\S]*2099/i);
      assert.deepEqual(JSON.parse(await page.getByLabel('Metadata (optional)').inputValue()), { customer_id: 'cus_42', tier: 'gold' });
      assert.equal(await page.getByLabel('Expires (optional)').inputValue(), '2099-01-31T18:30');
      await shot(page, '20-product-key-meta-expiry', true);
      await page.getByLabel('Metadata (optional)').fill('{"customer_id": "cus_43"}');
      await page.getByLabel('Expires (optional)').fill('');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await eventually(async () => /Expires\s*Never/i.test(await page.locator('.facts').innerText()), 'the cleared expiry does not read Never');
      assert.deepEqual(JSON.parse(await page.getByLabel('Metadata (optional)').inputValue()), { customer_id: 'cus_43' });

      // The narrow screen: the list with its Expired key, and the key's page.
      const phone = await acmePage({ width: 390, height: 844 });
      await phone.getByRole('row', { name: /nightly-report/ }).getByText('Expired', { exact: true }).waitFor();
      await shot(phone, '21-product-keys-expired-narrow');
      await phone.getByRole('row', { name: /nightly-report/ }).getByRole('link', { name: 'nightly-report' }).click();
      await phone.getByRole('heading', { name: /nightly-report/ }).first().waitFor();
      assert.match(await phone.locator('.facts').innerText(), /Expired/i);
      await shot(phone, '22-product-key-expired-narrow');
    });
  });
});
