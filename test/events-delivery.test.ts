import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { verifyWebhook } from '../packages/sdk/src/webhook.js';
import { newEndpointSecret } from '../src/events/signing.js';
import { newId } from '../src/ids.js';
import { addEndpoint, startReceiver, until, type Receiver } from './events-delivery-receiver.js';
import { createKey, describeEachBackend, newTenant, type Harness } from './harness.js';

/**
 * The delivery worker (src/events/delivery-worker.ts) against real receivers on loopback: signed, retried,
 * given up after 3 days with the endpoint disabled, and never sent where it must not go.
 */

const FAST = { EVENTS_POLL_MS: '50', TEST_EVENTS_RETRY_SCALE: '0.001', TEST_EVENTS_TIMEOUT_MS: '1000' };

const deliveryOf = (h: Harness, endpointId: string) =>
  h.db.selectFrom('event_deliveries').selectAll().where('endpoint_id', '=', endpointId).orderBy('created_at').executeTakeFirst();

const attemptsOf = (h: Harness, deliveryId: string) =>
  h.db.selectFrom('event_delivery_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('started_at').orderBy('id').execute();

const disable = (h: Harness, endpointId: string) => h.db.updateTable('event_endpoints').set({ enabled: false }).where('id', '=', endpointId).execute();

/** A tenant with one endpoint at `receiver`, and the api_key.created delivery of a key made after it. */
async function keyCreatedTo(h: Harness, receiver: { url: string }, events = ['api_key.created']) {
  const tenant = await newTenant(h);
  const endpoint = await addEndpoint(h.db, { url: receiver.url, workspaceId: tenant.workspaceId, events });
  const key = await createKey(tenant, { name: 'delivered' });
  assert.equal(key.status, 201);
  const delivery = await until('the delivery is written', () => deliveryOf(h, endpoint.id));
  return { tenant, endpoint, key, delivery };
}

describeEachBackend(
  'events delivery',
  (harness) => {
    it('a key created reaches the endpoint: signed (the SDK verifies it), with its headers and the stored body byte for byte', async () => {
      const h = harness();
      const receiver = await startReceiver();
      try {
        const { endpoint, key, delivery } = await keyCreatedTo(h, receiver);
        await until('delivered', async () => (await deliveryOf(h, endpoint.id))?.status === 'delivered');
        assert.equal(receiver.received.length, 1);
        const [request] = receiver.received;
        const stored = await h.db.selectFrom('events').select(['body', 'type']).where('id', '=', delivery.event_id).executeTakeFirstOrThrow();
        assert.equal(request!.body, stored.body, 'the exact bytes of the outbox');
        const event = verifyWebhook(request!.body, request!.headers['latchkey-signature'] as string, endpoint.secret, { now: () => h.clock.now });
        assert.equal(event.type, 'api_key.created');
        assert.equal((event.data as { object: { id: string } }).object.id, key.body.id);
        assert.equal(request!.headers['content-type'], 'application/json');
        assert.equal(request!.headers['user-agent'], 'Latchkey-Webhooks/1');
        assert.equal(request!.headers['latchkey-event-id'], delivery.event_id);
        assert.equal(request!.headers['latchkey-event-type'], 'api_key.created');
        assert.throws(() => verifyWebhook(request!.body, request!.headers['latchkey-signature'] as string, newEndpointSecret(), { now: () => h.clock.now }), /signature/i);
        const done = (await deliveryOf(h, endpoint.id))!;
        assert.equal(done.attempts, 1);
        assert.equal(done.last_status_code, 200);
        assert.ok(done.delivered_at);
        const attempts = await attemptsOf(h, delivery.id);
        assert.deepEqual(attempts.map((a) => [a.status_code, a.error, a.response_excerpt]), [[200, null, 'ok']]);
        assert.ok(!h.logs.join('').includes(endpoint.secret), 'the secret is never logged');
      } finally {
        await receiver.close();
      }
    });

    it('a receiver that answers 500 then 200 gets the same event again; each attempt is recorded with its status', async () => {
      const h = harness();
      let calls = 0;
      const receiver = await startReceiver((_request, response) => {
        calls++;
        if (calls === 1) response.writeHead(500).end('database down, token whsec_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ leaked');
        else response.writeHead(204).end();
      });
      try {
        const { endpoint, delivery } = await keyCreatedTo(h, receiver);
        await until('delivered', async () => (await deliveryOf(h, endpoint.id))?.status === 'delivered');
        assert.equal(receiver.received.length, 2);
        assert.equal(receiver.received[0]!.body, receiver.received[1]!.body, 'a retry carries the same bytes');
        assert.equal(receiver.received[0]!.headers['latchkey-event-id'], receiver.received[1]!.headers['latchkey-event-id']);
        for (const request of receiver.received) verifyWebhook(request.body, request.headers['latchkey-signature'] as string, endpoint.secret, { now: () => h.clock.now });
        const attempts = await attemptsOf(h, delivery.id);
        assert.deepEqual(attempts.map((a) => a.status_code), [500, 204]);
        assert.equal(attempts[0]!.error, 'answered 500');
        assert.match(attempts[0]!.response_excerpt!, /^database down, token \[REDACTED\]/, 'a secret in the answer is not kept');
        assert.equal(attempts[1]!.error, null);
        const done = (await deliveryOf(h, endpoint.id))!;
        assert.equal(done.attempts, 2);
        assert.equal(done.last_error, null);
      } finally {
        await receiver.close();
      }
    });

    it('a redirect is not followed: the attempt fails and says so, and the other host receives nothing', async () => {
      const h = harness();
      const elsewhere = await startReceiver();
      const receiver = await startReceiver((_request, response) => response.writeHead(302, { location: elsewhere.url }).end());
      try {
        const { endpoint, delivery } = await keyCreatedTo(h, receiver);
        const [attempt] = await until('an attempt', async () => (await attemptsOf(h, delivery.id)).length > 0 && attemptsOf(h, delivery.id));
        await disable(h, endpoint.id);
        assert.equal(attempt!.status_code, 302);
        assert.match(attempt!.error!, /redirects are not followed/);
        assert.equal(elsewhere.received.length, 0);
        assert.equal(elsewhere.connections, 0);
        assert.equal((await deliveryOf(h, endpoint.id))!.status, 'pending', 'tried again later');
      } finally {
        await receiver.close();
        await elsewhere.close();
      }
    });

    it('an endless answer is read to 64 KB only, then the connection is dropped', async () => {
      const h = harness();
      let written = 0;
      let closedEarly = false;
      const receiver = await startReceiver((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pump = () => {
          while (!response.destroyed && written < 64 * 1024 * 1024) {
            written += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', pump);
          }
          if (!response.destroyed) response.end();
        };
        response.on('close', () => (closedEarly = !response.writableFinished));
        pump();
      });
      try {
        const { endpoint, delivery } = await keyCreatedTo(h, receiver);
        // Read to its end, 64 MB would not arrive within the 1 s timeout: the attempt would fail.
        await until('delivered', async () => (await deliveryOf(h, endpoint.id))?.status === 'delivered');
        const [attempt] = await attemptsOf(h, delivery.id);
        assert.equal(attempt!.error, null);
        assert.equal(attempt!.response_excerpt!.length, 1024);
        await until('the receiver sees the connection dropped', async () => closedEarly);
        assert.ok(written < 64 * 1024 * 1024, `stopped after ${written} bytes`);
      } finally {
        await receiver.close();
      }
    });

    it('no answer within the timeout is a failed attempt, retried later', async () => {
      const h = harness();
      const receiver = await startReceiver(() => {
        // Never answers.
      });
      try {
        const { endpoint, delivery } = await keyCreatedTo(h, receiver);
        const [attempt] = await until('an attempt', async () => (await attemptsOf(h, delivery.id)).length > 0 && attemptsOf(h, delivery.id));
        await disable(h, endpoint.id);
        assert.equal(attempt!.status_code, null);
        assert.equal(attempt!.error, 'no complete answer within 1 s');
        assert.ok(attempt!.duration_ms >= 900, `gave up after ${attempt!.duration_ms} ms`);
        const after = (await deliveryOf(h, endpoint.id))!;
        assert.equal(after.last_error, 'no complete answer within 1 s');
      } finally {
        await receiver.close();
      }
    });

    it('a rotation’s overlap signs with both secrets; an expired one no longer signs', async () => {
      const h = harness();
      const receiver = await startReceiver();
      try {
        const tenant = await newTenant(h);
        const endpoint = await addEndpoint(h.db, { url: receiver.url, workspaceId: tenant.workspaceId, events: ['api_key.created'] });
        const previous = endpoint.secret;
        const expired = newEndpointSecret();
        const current = newEndpointSecret();
        const hour = 3_600_000;
        await h.db
          .updateTable('event_endpoint_secrets')
          .set({ expires_at: new Date(h.clock.now.getTime() + hour) })
          .where('endpoint_id', '=', endpoint.id)
          .execute();
        await h.db
          .insertInto('event_endpoint_secrets')
          .values([
            { id: newId('whs'), endpoint_id: endpoint.id, secret: expired, expires_at: new Date(h.clock.now.getTime() - hour), created_at: new Date(h.clock.now.getTime() - 2 * hour) },
            { id: newId('whs'), endpoint_id: endpoint.id, secret: current, expires_at: null, created_at: h.clock.now },
          ])
          .execute();
        await createKey(tenant);
        await until('delivered', async () => receiver.received.length === 1);
        const { body, headers } = receiver.received[0]!;
        const signature = headers['latchkey-signature'] as string;
        assert.equal(signature.split(',').filter((part) => part.startsWith('v1=')).length, 2);
        verifyWebhook(body, signature, current, { now: () => h.clock.now });
        verifyWebhook(body, signature, previous, { now: () => h.clock.now });
        assert.throws(() => verifyWebhook(body, signature, expired, { now: () => h.clock.now }), /signature/i);
      } finally {
        await receiver.close();
      }
    });

    it('a delivery to a disabled endpoint is not sent; it is marked failed and says why', async () => {
      const h = harness();
      const receiver = await startReceiver();
      try {
        const tenant = await newTenant(h);
        const endpoint = await addEndpoint(h.db, { url: receiver.url, workspaceId: tenant.workspaceId, events: ['api_key.created'] });
        // Disabled after the delivery was written, before the worker claims it.
        await h.db.transaction().execute(async (tx) => {
          const { emitEvent } = await import('../src/events/outbox.js');
          await emitEvent(tx, { type: 'api_key.created', workspaceId: tenant.workspaceId, data: { object: { id: 'key_x' } } });
          await tx.updateTable('event_endpoints').set({ enabled: false }).where('id', '=', endpoint.id).execute();
        });
        const failed = await until('marked failed', async () => {
          const delivery = await deliveryOf(h, endpoint.id);
          return delivery?.status === 'failed' && delivery;
        });
        assert.equal(failed.last_error, 'not sent: the endpoint is disabled');
        assert.equal(failed.attempts, 0);
        assert.equal(receiver.received.length, 0);
        assert.equal((await attemptsOf(h, failed.id)).length, 0);
      } finally {
        await receiver.close();
      }
    });

    it('an endpoint that delivered something since the failed delivery was made stays enabled', async () => {
      const h = harness();
      const receiver = await startReceiver((_request, response, body) => response.writeHead(JSON.parse(body).data.object.name === 'fails' ? 503 : 200).end());
      try {
        const tenant = await newTenant(h);
        const endpoint = await addEndpoint(h.db, { url: receiver.url, workspaceId: tenant.workspaceId, events: ['api_key.created'] });
        await createKey(tenant, { name: 'fails' });
        const failing = await until('a failed attempt', async () => {
          const row = await deliveryOf(h, endpoint.id);
          return row && row.last_status_code === 503 && row;
        });
        await createKey(tenant, { name: 'succeeds' });
        await until('the second delivered', async () =>
          h.db.selectFrom('event_deliveries').select('id').where('endpoint_id', '=', endpoint.id).where('status', '=', 'delivered').executeTakeFirst(),
        );
        // The failing delivery made 3 days ago (the clock stays: the next test moves it).
        const madeAt = new Date(h.clock.now.getTime() - (3 * 24 * 3600 + 60) * 1000);
        await sql`update event_deliveries set created_at = ${madeAt}, next_attempt_at = ${h.clock.now} where id = ${failing.id}`.execute(h.db);
        await until('the first failed', async () => {
          const row = await h.db.selectFrom('event_deliveries').select('status').where('id', '=', failing.id).executeTakeFirstOrThrow();
          return row.status === 'failed';
        });
        const row = await h.db.selectFrom('event_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
        assert.equal(row.enabled, true);
        assert.equal(row.disabled_reason, null);
      } finally {
        await receiver.close();
      }
    });

    // Last: it moves the suite's clock 3 days ahead.
    it('a delivery still failing 3 days after it was made is failed, and its endpoint disabled with a management event', async () => {
      const h = harness();
      const receiver = await startReceiver((_request, response) => response.writeHead(503).end('maintenance'));
      try {
        const { tenant, endpoint, delivery } = await keyCreatedTo(h, receiver);
        await until('a first attempt', async () => (await attemptsOf(h, delivery.id)).length > 0);
        assert.equal((await deliveryOf(h, endpoint.id))!.status, 'pending');
        h.clock.advance(3 * 24 * 3600 + 60);
        const failed = await until('failed', async () => {
          const row = await deliveryOf(h, endpoint.id);
          return row?.status === 'failed' && row;
        });
        assert.equal(failed.last_status_code, 503);
        const row = await h.db.selectFrom('event_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
        assert.equal(row.enabled, false);
        assert.ok(row.disabled_at);
        assert.equal(row.disabled_reason, 'Every delivery failed for 3 days; last error: answered 503');
        const logged = await h.db
          .selectFrom('management_events')
          .selectAll()
          .where('workspace_id', '=', tenant.workspaceId)
          .where('action', '=', 'event_endpoint.disabled')
          .execute();
        assert.equal(logged.length, 1);
        assert.equal(logged[0]!.target_id, endpoint.id);
        assert.equal(logged[0]!.actor_user_id, null);
        const sent = receiver.received.length;
        const key = await createKey(tenant, { name: 'after-disable' });
        assert.equal(key.status, 201);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(receiver.received.length, sent, 'a disabled endpoint gets no new deliveries');
      } finally {
        await receiver.close();
      }
    });

  },
  { env: { EVENTS_ALLOW_PRIVATE_NETWORKS: 'true', ...FAST } },
);

describeEachBackend(
  'events delivery woken by a change',
  (harness) => {
    it('a management change sends its event at once, not at the next poll (a minute away here)', async () => {
      const h = harness();
      const receiver = await startReceiver();
      try {
        const tenant = await newTenant(h);
        await addEndpoint(h.db, { url: receiver.url, workspaceId: tenant.workspaceId, events: ['api_key.created'] });
        await createKey(tenant);
        await until('delivered', async () => receiver.received.length === 1, 20_000);
      } finally {
        await receiver.close();
      }
    });
  },
  { env: { EVENTS_ALLOW_PRIVATE_NETWORKS: 'true', EVENTS_POLL_MS: '60000' } },
);

describeEachBackend(
  'events delivery without EVENTS_ALLOW_PRIVATE_NETWORKS',
  (harness) => {
    it('private, loopback and metadata addresses are refused at connect time, literal or through a name, and nothing connects', async () => {
      const h = harness();
      const receiver: Receiver = await startReceiver();
      try {
        const tenant = await newTenant(h);
        const port = receiver.port;
        const cases: Array<[string, RegExp]> = [
          [`https://127.0.0.1:${port}/hook`, /^address refused: 127\.0\.0\.1 is loopback; set EVENTS_ALLOW_PRIVATE_NETWORKS=true/],
          [`https://localhost:${port}/hook`, /^address refused: localhost resolves to (127\.0\.0\.1|::1), which is loopback/],
          [`https://[::1]:${port}/hook`, /^address refused: ::1 is loopback/],
          [`https://[::ffff:127.0.0.1]:${port}/hook`, /^address refused: ::ffff:7f00:1 is an IPv4-mapped IPv6 address|^address refused: ::ffff:127\.0\.0\.1/],
          ['https://169.254.169.254/latest/meta-data/', /^address refused: 169\.254\.169\.254 is link-local \(includes the cloud metadata address\)/],
          ['https://[fd00:ec2::254]/latest/meta-data/', /^address refused: fd00:ec2::254 is a private network address/],
          [`http://hooks.example.com:${port}/hook`, /^http:\/\/ URLs are refused: deliveries use HTTPS unless EVENTS_ALLOW_PRIVATE_NETWORKS=true/],
        ];
        const endpoints = await Promise.all(cases.map(([url]) => addEndpoint(h.db, { url, workspaceId: tenant.workspaceId, events: ['api_key.created'] })));
        await createKey(tenant);
        for (const [index, [url, expected]] of cases.entries()) {
          const endpoint = endpoints[index]!;
          const delivery = await until(`an attempt to ${url}`, async () => {
            const row = await deliveryOf(h, endpoint.id);
            return row && row.attempts > 0 && row.last_error !== null && row;
          });
          await disable(h, endpoint.id);
          assert.match(delivery.last_error!, expected, url);
          assert.equal(delivery.status, 'pending', 'retried like any failure (an address may be fixed)');
        }
        assert.equal(receiver.connections, 0, 'no connection reached the receiver');
        assert.equal(receiver.received.length, 0);
      } finally {
        await receiver.close();
      }
    });
  },
  { env: FAST },
);
