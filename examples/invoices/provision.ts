/**
 * Provisions one of our customers in Latchkey with nothing but our service key: their workspace (found
 * again by our own account id if it exists) and an API key for them, with its scopes and `meta`.
 * Prints the key's secret on stdout, once; everything else goes to stderr.
 *
 *   LATCHKEY_URL=http://127.0.0.1:3000 LATCHKEY_SERVICE_KEY=inv_svc_… \
 *     npx tsx examples/invoices/provision.ts --account acme-42 --name "Acme Corp" \
 *       --key-name "acme erp sync" --scopes invoices:read,invoices:write --plan pro
 */
import { parseArgs } from 'node:util';
import { createClient, type ErrorBody } from '@latchkey/sdk';

/** The created key as Latchkey answers it (its create route documents no response schema yet, so it is not in the generated types). */
interface CreatedKey {
  id: string;
  prefix: string;
  scopes: string[];
  secret: string;
}

const { values: args } = parseArgs({
  options: {
    account: { type: 'string' },
    name: { type: 'string' },
    'key-name': { type: 'string', default: 'default' },
    scopes: { type: 'string', default: 'invoices:read,invoices:write,payments:write' },
    mode: { type: 'string', default: 'live' },
    plan: { type: 'string', default: 'pro' },
  },
});

function fail(message: string): never {
  process.stderr.write(`provision: ${message}\n`);
  process.exit(1);
}

const baseUrl = process.env.LATCHKEY_URL ?? fail('set LATCHKEY_URL');
const serviceKey = process.env.LATCHKEY_SERVICE_KEY ?? fail('set LATCHKEY_SERVICE_KEY (a service key with workspaces:read, workspaces:write, keys:write)');
const account = args.account ?? fail('--account <our account id> is required');
if (args.mode !== 'live' && args.mode !== 'test') fail('--mode is live or test');

const latchkey = createClient({ baseUrl, serviceKey, onBehalfOf: 'provision script' });

/** The customer's workspace: created with our account id as its external id, or found by it when it exists. */
async function workspaceFor(externalId: string, name: string): Promise<string> {
  const created = await latchkey.POST('/v1/workspaces', { body: { name, external_id: externalId } });
  if (created.data) return created.data.id;
  const refusal = created.error as ErrorBody | undefined;
  if (refusal?.error.code !== 'external_id_taken') fail(`creating the workspace: ${created.response.status} ${refusal?.error.code ?? ''}`);
  const found = await latchkey.GET('/v1/workspaces', { params: { query: { external_id: externalId } } });
  const existing = found.data?.data[0];
  if (!existing) fail(`the workspace of ${externalId} exists but could not be read: ${found.response.status}`);
  return existing.id;
}

const workspaceId = await workspaceFor(account, args.name ?? account);
const answer = await latchkey.POST('/v1/workspaces/{workspace_id}/api-keys', {
  params: { path: { workspace_id: workspaceId } },
  body: {
    name: args['key-name'],
    mode: args.mode,
    scopes: args.scopes.split(',').map((s) => s.trim()).filter(Boolean),
    meta: { plan: args.plan, account },
  },
});
if (answer.response.status !== 201) fail(`creating the key: ${answer.response.status} ${(answer.error as ErrorBody | undefined)?.error.code ?? ''}`);
const key = answer.data as unknown as CreatedKey;
process.stderr.write(`workspace ${workspaceId} (${account}); key ${key.id} ${key.prefix} with ${key.scopes.join(', ')}\n`);
process.stdout.write(`${key.secret}\n`);
