import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { LOGIN_FAILURES } from '../src/accounts/login-throttle.js';
import { withChecksum } from '../src/keys/key-format.js';
import { Client, PASSWORD, addUser, apiCall, describeEachBackend, newTenant, uniqueEmail, type Harness } from './harness.js';

/**
 * Per-address budgets count an address once however it is written (issue #10.6): the three spellings of
 * 2001:db8::1 (and any address of its /64) share one budget, and ::ffff:198.51.100.9 is 198.51.100.9.
 * Failed sign-ins are also limited per account across all addresses, without locking its owner out.
 */

const IPV6_SPELLINGS = ['2001:db8::1', '2001:0db8::1', '2001:db8:0:0:0:0:0:1', '2001:DB8::abcd'];
const IPV4_SPELLINGS = ['::ffff:198.51.100.9', '198.51.100.9', '0:0:0:0:0:ffff:c633:6409'];

/** The made-up-key budget per address per minute (src/app.ts). */
const AUTH_FAILURES_PER_MINUTE = 30;

/** Moves the clock to 200 ms after the start of the next window of `seconds`, so a test's requests share one window. */
function atWindowStart(h: Harness, seconds: number): void {
  const ms = seconds * 1000;
  h.clock.advance((ms - (h.clock.now.getTime() % ms) + 200) / 1000);
}

function madeUpKey(h: Harness, i: number): string {
  return withChecksum(`${h.config.keyPrefix}_live_${String(i).padStart(30, 'x')}`);
}

async function login(h: Harness, email: string, password: string, ip: string) {
  return new Client(h.app, ip).post('/v1/auth/login', { email, password });
}

describeEachBackend('per-address budgets and the per-account sign-in limit', (harness) => {
  before(async () => {
    await newTenant(harness()); // completes first-run setup
  });

  for (const [family, spellings] of [['IPv6', IPV6_SPELLINGS], ['IPv4', IPV4_SPELLINGS]] as const) {
    it(`made-up keys: the ${family} spellings of one address share one budget`, async () => {
      const h = harness();
      atWindowStart(h, 60);
      for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) {
        const reply = await apiCall(h, madeUpKey(h, i + (family === 'IPv6' ? 0 : 1000)), '/api/v1/ping', { ip: spellings[i % spellings.length] });
        assert.equal(reply.status, 401, `attempt ${i + 1}: ${reply.raw}`);
      }
      for (const ip of spellings) {
        const reply = await apiCall(h, madeUpKey(h, 999 + (family === 'IPv6' ? 0 : 1000)), '/api/v1/ping', { ip });
        assert.equal(reply.status, 429, `${ip}: ${reply.raw}`);
      }
      // Another address (another /64 for IPv6) still has its budget.
      const other = family === 'IPv6' ? '2001:db8:0:1::1' : '198.51.100.10';
      assert.equal((await apiCall(h, madeUpKey(h, 5000), '/api/v1/ping', { ip: other })).status, 401);
    });

    it(`failed sign-ins: the ${family} spellings of one address share one budget per email`, async () => {
      const h = harness();
      const email = uniqueEmail('spellings');
      atWindowStart(h, 900);
      for (let i = 0; i < LOGIN_FAILURES.perEmailAndIp.limit; i++) {
        // A second apart: the per-second burst limit would refuse them otherwise.
        h.clock.advance(1);
        const reply = await login(h, email, 'wrong password!', spellings[i % spellings.length] ?? '');
        assert.equal(reply.status, 401, `attempt ${i + 1}: ${reply.raw}`);
      }
      for (const ip of spellings) {
        h.clock.advance(1);
        assert.equal((await login(h, email, 'wrong password!', ip)).status, 429, ip);
      }
    });
  }

  it('the management log records the canonical spelling', async () => {
    const h = harness();
    const email = uniqueEmail('logged');
    await addUser(h, email);
    assert.equal((await login(h, email, PASSWORD, '2001:0DB8:0:0:0:0:0:7')).status, 200);
    const events = await h.db.selectFrom('management_events').select('source_ip').where('action', '=', 'login').where('actor_email', '=', email).execute();
    assert.deepEqual(events, [{ source_ip: '2001:db8::7' }]);
  });

  it("locks an account after 50 failures from many addresses, except for its owner's remembered address", async () => {
    const h = harness();
    const email = uniqueEmail('target');
    await addUser(h, email);
    atWindowStart(h, 900);
    // The owner signed in from home before the attack.
    assert.equal((await login(h, email, PASSWORD, '192.0.2.77')).status, 200);
    for (let i = 0; i < 50; i++) {
      const reply = await login(h, email, `guess number ${i}`, `203.0.113.${i + 1}`);
      assert.equal(reply.status, 401, `guess ${i + 1}: ${reply.raw}`);
    }
    // A new address is refused, even with the right password: it cannot guess on.
    const stranger = await login(h, email, PASSWORD, '203.0.113.200');
    assert.equal(stranger.status, 429, stranger.raw);
    assert.equal(stranger.body.error.code, 'rate_limited');
    assert.ok(Number(stranger.headers['retry-after']) > 0);
    // The same refusal for an email with no account that was attacked the same way: nothing to enumerate.
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 50; i++) await login(h, ghost, `guess number ${i}`, `203.0.113.${i + 1}`);
    const ghostReply = await login(h, ghost, PASSWORD, '203.0.113.200');
    assert.equal(ghostReply.status, 429);
    assert.equal(ghostReply.body.error.message, stranger.body.error.message);
    // The owner, from the remembered address, signs in.
    const owner = await login(h, email, PASSWORD, '192.0.2.77');
    assert.equal(owner.status, 200, owner.raw);
    // The window over, strangers may try again.
    h.clock.advance(900);
    assert.equal((await login(h, email, PASSWORD, '203.0.113.200')).status, 200);
  });
});
