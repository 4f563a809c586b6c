import assert from 'node:assert/strict';
import { it } from 'node:test';
import { addUser, describeEachBackend, newTenant, signIn, uniqueEmail, type Client, type Harness, type Reply } from './harness.js';

/**
 * The last-Owner rule under concurrency: two Owners who demote (or remove) each other at the same moment.
 * At READ COMMITTED each request alone sees two Owners; only a lock taken before the count keeps one.
 */
describeEachBackend('last Owner under concurrency', (harness) => {
  async function twoOwners(h: Harness) {
    const first = await newTenant(h);
    const secondEmail = uniqueEmail('owner2');
    const secondId = await addUser(h, secondEmail);
    const second = await signIn(h, secondEmail);
    /** A fresh workspace where both are Owners, the second added straight in the database. */
    const workspace = async () => {
      const created = await first.client.post('/v1/workspaces', { name: 'Race' });
      assert.equal(created.status, 201, created.raw);
      await h.db.insertInto('memberships').values({ workspace_id: created.body.id, user_id: secondId, role: 'owner' }).execute();
      return created.body.id as string;
    };
    return { first: { client: first.client, id: first.userId }, second: { client: second, id: secondId }, workspace };
  }

  async function ownersOf(h: Harness, workspaceId: string): Promise<number> {
    const rows = await h.db.selectFrom('memberships').select('user_id').where('workspace_id', '=', workspaceId).where('role', '=', 'owner').execute();
    return rows.length;
  }

  async function race(
    h: Harness,
    act: (by: Client, workspaceId: string, targetId: string) => Promise<Reply>,
  ): Promise<void> {
    const { first, second, workspace } = await twoOwners(h);
    for (let round = 0; round < 20; round++) {
      const workspaceId = await workspace();
      const replies = await Promise.all([act(first.client, workspaceId, second.id), act(second.client, workspaceId, first.id)]);
      const statuses = replies.map((r) => r.status);
      assert.ok((await ownersOf(h, workspaceId)) >= 1, `round ${round}: no Owner left (${statuses.join(', ')})`);
      assert.equal(replies.filter((r) => r.status < 300).length, 1, `round ${round}: ${replies.map((r) => r.raw).join(' | ')}`);
      for (const refused of replies.filter((r) => r.status >= 300)) {
        assert.ok(['conflict', 'insufficient_role', 'not_found'].includes(refused.body.error.code), refused.raw);
      }
    }
  }

  it('two Owners demoting each other at once: exactly one succeeds, one Owner stays', async () => {
    await race(harness(), (by, workspaceId, targetId) => by.patch(`/v1/workspaces/${workspaceId}/members/${targetId}`, { role: 'admin' }));
  });

  it('two Owners removing each other at once: exactly one succeeds, one Owner stays', async () => {
    await race(harness(), (by, workspaceId, targetId) => by.delete(`/v1/workspaces/${workspaceId}/members/${targetId}`));
  });
});
