import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { generate, OPENAPI_JSON, SCHEMA_TS } from '../packages/sdk/scripts/openapi.js';

/**
 * The SDK's types are generated from Latchkey's OpenAPI document; the committed copies must be what the
 * app describes today, or the typed client would promise routes and fields that are not there.
 */
describe('@latchkey/sdk generated contract', () => {
  it('openapi.json and src/schema.d.ts are what the app generates now (else: npm run generate -w @latchkey/sdk)', async () => {
    const { json, types } = await generate();
    assert.equal(await readFile(OPENAPI_JSON, 'utf8'), json, 'packages/sdk/openapi.json is stale');
    assert.equal(await readFile(SCHEMA_TS, 'utf8'), types, 'packages/sdk/src/schema.d.ts is stale');
  });
});
