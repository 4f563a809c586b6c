import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { newId } from '../src/ids.js';
import { apiCall, createKey, describeEachBackend, newTenant, uniqueEmail, type Client, type Harness, type Tenant } from './harness.js';
import { inviteAndJoin } from './invite.js';

const eventsUrl = (tenant: Tenant, query = '') => `/v1/workspaces/${tenant.workspaceId}/audit-events${query ? `?${query}` : ''}`;

/** Polls the search until the batched writer has written `count` events. */
async function waitForEvents(client: Client, tenant: Tenant, count: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = await client.get(eventsUrl(tenant, 'limit=100'));
    assert.equal(reply.status, 200, reply.raw);
    if (reply.body.data.length >= count) {
      assert.equal(reply.body.data.length, count);
      return reply.body.data;
    }
    if (Date.now() > deadline) assert.fail(`only ${reply.body.data.length} of ${count} events appeared`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; records end with CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  assert.equal(field + record.join(''), '', 'the CSV ends with CRLF');
  return records;
}

/** Calls whose recorded text a spreadsheet would run, or that need quoting. */
async function trafficWithNastyText(h: Harness) {
  const tenant = await newTenant(h);
  const key = (await createKey(tenant, { name: '=HYPERLINK("http://evil.example","open me")', scopes: ['tickets:read'] })).body;
  const calls = [
    await apiCall(h, key.secret, '/api/v1/ping', { headers: { 'user-agent': '@SUM(1+1)*cmd|" /C calc"!A0' } }),
    await apiCall(h, key.secret, '/api/v1/tickets', { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux), "quoted"' } }),
    await apiCall(h, key.secret, '/api/v1/tickets/a,b', { headers: { 'user-agent': '-2+3' } }),
    await apiCall(h, key.secret, '/api/v1/contacts', { headers: { 'user-agent': '+plain' }, ip: '198.51.100.9' }),
  ];
  assert.deepEqual(calls.map((c) => c.status), [200, 200, 404, 403]);
  const events = await waitForEvents(tenant.client, tenant, calls.length);
  return { tenant, key, events };
}

describeEachBackend('audit log export', (harness) => {
  it('exports NDJSON: one event object per line, the same objects as the search', async () => {
    const h = harness();
    const { tenant, events } = await trafficWithNastyText(h);
    const reply = await tenant.client.get(eventsUrl(tenant).replace('audit-events', 'audit-events/export') + '?format=ndjson');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^application\/x-ndjson/);
    assert.match(String(reply.headers['content-disposition']), new RegExp(`^attachment; filename="latchkey-audit-${tenant.workspaceId}-\\d{8}T\\d{6}Z\\.ndjson"$`));
    assert.ok(reply.raw.endsWith('\n'));
    const lines = reply.raw.slice(0, -1).split('\n');
    assert.deepEqual(lines.map((line) => JSON.parse(line)), events);
    // NDJSON is the default format.
    assert.equal((await tenant.client.get(`${eventsUrl(tenant)}/export`)).raw, reply.raw);
  });

  it('exports CSV with a header row, RFC 4180 quoting and formulas defused', async () => {
    const h = harness();
    const { tenant, key, events } = await trafficWithNastyText(h);
    const reply = await tenant.client.get(`${eventsUrl(tenant)}/export?format=csv`);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/csv/);
    assert.match(String(reply.headers['content-disposition']), /^attachment; filename="latchkey-audit-ws_[0-9a-z]+-\d{8}T\d{6}Z\.csv"$/);
    const [header, ...rows] = parseCsv(reply.raw);
    assert.deepEqual(header, [
      'id', 'created_at', 'mode', 'key_id', 'key_name', 'secret_version', 'method', 'route', 'path', 'status', 'latency_ms',
      'upstream_ms', 'source_ip', 'user_agent', 'request_id', 'error_code', 'scope', 'argument_hash',
    ]);
    assert.equal(rows.length, events.length);
    const records = rows.map((row) => Object.fromEntries(header!.map((column, i) => [column, row[i]])));
    assert.deepEqual(records.map((r) => r.id), events.map((e) => e.id));
    for (const [i, record] of records.entries()) {
      const event = events[i] as { key: { id: string; secret_version: number }; status: number; path: string; latency_ms: number; error_code: string | null };
      assert.deepEqual(
        [record.key_id, record.secret_version, record.status, record.latency_ms, record.error_code],
        [event.key.id, String(event.key.secret_version), String(event.status), String(event.latency_ms), event.error_code ?? ''],
      );
    }
    // Every cell that starts with = + - @ is prefixed with a quote, and nothing else changes.
    assert.ok(records.every((r) => r.key_name === `'${key.name}`));
    // Sorted: two calls made within one millisecond may be logged in either order (ids are ordered by time only).
    assert.deepEqual(records.map((r) => r.user_agent).sort(), [
      `'@SUM(1+1)*cmd|" /C calc"!A0`,
      'Mozilla/5.0 (X11; Linux), "quoted"',
      `'-2+3`,
      `'+plain`,
    ].sort());
    assert.ok(records.some((r) => r.path === '/api/v1/tickets/a,b'));
    for (const row of rows) for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@]/);
    assert.ok(reply.raw.includes('"\'=HYPERLINK(""http://evil.example"",""open me"")"'), 'quotes doubled inside a quoted cell');
  });

  it('applies the search filters and an optional row cap', async () => {
    const h = harness();
    const { tenant, events } = await trafficWithNastyText(h);
    const ndjson = async (query: string) => {
      const reply = await tenant.client.get(`${eventsUrl(tenant)}/export?${query}`);
      assert.equal(reply.status, 200, reply.raw);
      return reply.raw === '' ? [] : reply.raw.trimEnd().split('\n').map((line) => JSON.parse(line).id as string);
    };
    const ids = (keep: (e: Record<string, unknown>) => boolean) => events.filter(keep).map((e) => e.id);
    assert.deepEqual(await ndjson('status=4xx'), ids((e) => Number(e.status) >= 400));
    assert.deepEqual(await ndjson('status=403&error_code=insufficient_scope'), ids((e) => e.status === 403));
    assert.deepEqual(await ndjson('source_ip=198.51.100.9'), ids((e) => e.source_ip === '198.51.100.9'));
    assert.deepEqual(await ndjson(`route=${encodeURIComponent('/api/v1/tickets*')}`), ids((e) => String(e.path).startsWith('/api/v1/tickets')));
    assert.deepEqual(await ndjson('max_rows=2'), ids(() => true).slice(0, 2));
    assert.deepEqual(await ndjson('from=2000-01-01&to=2000-01-02'), []);
    const emptyCsv = await tenant.client.get(`${eventsUrl(tenant)}/export?format=csv&method=DELETE`);
    assert.equal(parseCsv(emptyCsv.raw).length, 1, 'an empty export still has its header');
  });

  it('refuses bad parameters, Members and other workspaces', async () => {
    const h = harness();
    const tenant = await newTenant(h);
    const other = await newTenant(h);
    for (const [query, param] of [
      ['format=xml', 'format'],
      ['max_rows=0', 'max_rows'],
      ['limit=5', 'limit'],
      ['cursor=evt_x', 'cursor'],
      ['status=99x', 'status'],
      ['to=2026-05-01&from=2026-06-01', 'to'],
    ] as const) {
      const reply = await tenant.client.get(`${eventsUrl(tenant)}/export?${query}`);
      assert.deepEqual([reply.status, reply.body.error.code, reply.body.error.param], [400, 'invalid_request', param], query);
    }
    const foreign = await tenant.client.get(`${eventsUrl(other)}/export?format=csv`);
    assert.deepEqual([foreign.status, foreign.body.error.code], [404, 'not_found']);
    const memberEmail = uniqueEmail('member');
    const { client: member } = await inviteAndJoin(h, tenant, memberEmail, 'member');
    const refused = await member.get(`${eventsUrl(tenant)}/export?format=csv`);
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'insufficient_role']);
  });

  it('streams a large export in flat memory', { timeout: 180_000 }, async () => {
    const h = harness();
    const count = LARGE_EXPORT_ROWS;
    const tenant = await newTenant(h);
    const key = (await createKey(tenant, { name: 'bulk-exporter' })).body as { id: string; name: string };
    const inserted = Date.now();
    await insertEvents(h, tenant.workspaceId, key, count);
    const insertMs = Date.now() - inserted;

    const origin = h.app.server.listening ? `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}` : await h.app.listen({ port: 0, host: '127.0.0.1' });
    const gc = exposeGc();
    gc();
    const baseline = process.memoryUsage().heapUsed;
    const started = Date.now();
    const response = await fetch(`${origin}${eventsUrl(tenant)}/export?format=ndjson`, { headers: { cookie: tenant.client.cookie! } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    assert.equal(response.headers.get('content-length'), null, 'sent in chunks, not as one body');

    let lines = 0;
    let bytes = 0;
    let nextSample = 0;
    let peakRetained = 0;
    let peakUncollected = 0;
    let first = '';
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (first.length < 2000) first += Buffer.from(value).toString();
      for (const byte of value) if (byte === 10) lines++;
      bytes += value.byteLength;
      peakUncollected = Math.max(peakUncollected, process.memoryUsage().heapUsed - baseline);
      // What stays alive while the export runs, sampled every 2 MB: garbage is collected first, so the
      // number measures what a buffered export would hold (all rows or all text), not GC timing.
      if (bytes >= nextSample) {
        nextSample += 2 * 1024 * 1024;
        gc();
        peakRetained = Math.max(peakRetained, process.memoryUsage().heapUsed - baseline);
      }
    }
    const streamMs = Date.now() - started;
    const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
    process.stderr.write(
      `# [${h.backend}] ${count} events: inserted in ${insertMs} ms, exported ${mb(bytes)} MB in ${streamMs} ms; ` +
        `heap growth: ${mb(peakRetained)} MB retained at most (after GC), ${mb(peakUncollected)} MB uncollected at most\n`,
    );

    assert.equal(lines, count);
    const firstEvent = JSON.parse(first.slice(0, first.indexOf('\n')));
    assert.deepEqual([firstEvent.object, firstEvent.key.id, firstEvent.key.name], ['audit_event', key.id, key.name]);
    // A buffered export holds at least its whole text (and every row object) at once: the bound is a
    // fraction of the text, so it fails for any export that buffers, and leaves room for a few batches.
    assert.ok(bytes > 4 * RETAINED_BOUND_BYTES, `the export is large enough to tell (${mb(bytes)} MB)`);
    assert.ok(peakRetained < RETAINED_BOUND_BYTES, `retained heap grew ${mb(peakRetained)} MB while streaming ${mb(bytes)} MB`);
  });
});

/**
 * 100,000 events on both backends: PGlite inserts them in about the same time as PostgreSQL
 * (multi-row inserts of 2,000), and the export's pace is set by its 1,000-row queries.
 */
const LARGE_EXPORT_ROWS = 100_000;
const RETAINED_BOUND_BYTES = 12 * 1024 * 1024;

/** `gc()` without starting node with --expose-gc: the flag is set at run time, then the function is fetched from a fresh context. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const ROUTES = ['/api/v1/tickets', '/api/v1/tickets/:id', '/api/v1/contacts', '/api/v1/conversations/:id/traces', '/api/v1/ping'];
const AGENTS = ['crm-sync/4.2 (+https://crm.example.com/bot)', 'python-requests/2.32.3', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15'];

/** Realistic rows straight into the table (the writer's path is tested elsewhere), spread over the last day. */
async function insertEvents(h: Harness, workspaceId: string, key: { id: string; name: string }, count: number): Promise<void> {
  const end = h.clock.now.getTime();
  const stepMs = Math.floor(86_000_000 / count);
  const batchSize = 2000;
  for (let start = 0; start < count; start += batchSize) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      const at = end - (count - i) * stepMs;
      const route = ROUTES[i % ROUTES.length]!;
      const status = i % 17 === 0 ? 429 : i % 11 === 0 ? 403 : 200;
      rows.push({
        id: newId('evt', at),
        created_at: new Date(at),
        workspace_id: workspaceId,
        mode: 'live' as const,
        key_id: key.id,
        key_name: key.name,
        secret_id: `sec_${i}`,
        secret_version: 1,
        method: 'GET',
        route,
        path: route.replace(':id', `tkt_${i.toString(36).padStart(8, '0')}`),
        status,
        latency_ms: (i % 97) / 10,
        source_ip: `198.51.100.${i % 250}`,
        user_agent: AGENTS[i % AGENTS.length]!,
        request_id: newId('req', at),
        error_code: status === 429 ? 'rate_limited' : status === 403 ? 'insufficient_scope' : null,
        scope: 'tickets:read',
        argument_hash: (i * 2654435761).toString(16).padStart(64, '0').slice(0, 64),
      });
    }
    await h.db.insertInto('audit_events').values(rows).execute();
  }
  // PostgreSQL's autovacuum would analyze after such a load, within a minute; PGlite has no autovacuum.
  // Without statistics the planner sorts every older row for each batch instead of walking the index.
  await sql`analyze audit_events`.execute(h.db);
}
