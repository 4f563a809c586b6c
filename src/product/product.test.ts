import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { productJsonSchemaText } from './json-schema.js';
import { loadProductFile, ProductFileError, REFERENCE_PRODUCT } from './product.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const folder = mkdtempSync(join(tmpdir(), 'latchkey-product-'));
let files = 0;

/** Writes `text` to a new file with the given extension and returns its path. */
function file(text: string, extension = '.yaml'): string {
  const path = join(folder, `product-${files++}${extension}`);
  writeFileSync(path, text);
  return path;
}

const GOOD = `name: Acme CRM
key_prefix: acme
scopes:
  - { scope: contacts:read, group: Contacts, description: Read contacts }
  - { scope: contacts:write, group: Contacts, description: Create and update contacts }
`;

/** The loader's refusal message; fails the test when the file loads. */
function refusal(path: string): string {
  try {
    loadProductFile(path);
  } catch (error) {
    assert.ok(error instanceof ProductFileError, String(error));
    return error.message;
  }
  assert.fail(`${path} loaded`);
}

describe('loadProductFile', () => {
  it('reads a YAML file and a JSON file into the same product', () => {
    const yaml = loadProductFile(file(GOOD));
    const json = loadProductFile(
      file(
        JSON.stringify({
          name: 'Acme CRM',
          key_prefix: 'acme',
          scopes: [
            { scope: 'contacts:read', group: 'Contacts', description: 'Read contacts' },
            { scope: 'contacts:write', group: 'Contacts', description: 'Create and update contacts' },
          ],
        }),
        '.json',
      ),
    );
    for (const product of [yaml, json]) {
      assert.equal(product.name, 'Acme CRM');
      assert.equal(product.keyPrefix, 'acme');
      assert.equal(product.reference, false);
      assert.deepEqual(product.scopes.map((s) => s.scope), ['contacts:read', 'contacts:write']);
      assert.equal(product.isScope('contacts:write'), true);
      assert.equal(product.isScope('tickets:read'), false);
    }
  });

  it('loads the example in docs/examples', () => {
    const acme = loadProductFile(join(ROOT, 'docs/examples/acme.product.yaml'));
    assert.equal(acme.keyPrefix, 'acme');
    assert.ok(acme.scopes.length >= 3);
  });

  it('refuses a scope listed twice, naming scopes.N.scope', () => {
    const message = refusal(file(`${GOOD}  - { scope: contacts:read, group: Contacts, description: Again }\n`));
    assert.match(message, /scopes\.2\.scope: contacts:read is listed twice \(first at scopes\.0\)/);
  });

  it('refuses a scope with spaces, naming the field', () => {
    const message = refusal(file(`name: Acme\nscopes:\n  - { scope: "contacts read", group: Contacts, description: Read }\n`));
    assert.match(message, /scopes\.0\.scope: a scope is lower-case/);
  });

  it('refuses an unknown field, naming it', () => {
    const message = refusal(file(`${GOOD}colour: blue\n`));
    assert.match(message, /colour/);
    const inScope = refusal(file(`name: Acme\nscopes:\n  - { scope: a:b, group: A, description: B, allows: C }\n`));
    assert.match(inScope, /scopes\.0.*allows/);
  });

  it('refuses a gateway route naming an unknown upstream or an unknown scope', () => {
    const gateway = (route: string) =>
      `${GOOD}gateway:\n  upstreams:\n    crm: { url: "http://127.0.0.1:4000" }\n  routes:\n    - ${route}\n`;
    assert.match(refusal(file(gateway('{ method: GET, path: /v1/x, upstream: billing, scope: contacts:read }'))), /gateway\.routes\.0\.upstream: no upstream is named billing/);
    assert.match(refusal(file(gateway('{ method: GET, path: /v1/x, upstream: crm, scope: deals:read }'))), /gateway\.routes\.0\.scope: deals:read is not in scopes/);
    assert.equal(loadProductFile(file(gateway('{ method: GET, path: /v1/x, upstream: crm, scope: contacts:read }'))).gateway?.routes.length, 1);
  });

  it('refuses bad YAML and bad JSON, saying which', () => {
    assert.match(refusal(file('name: [unclosed\n')), /is not valid YAML/);
    assert.match(refusal(file('{"name": ', '.json')), /is not valid JSON/);
  });

  it('refuses a missing file, naming its path', () => {
    const missing = join(folder, 'nowhere.yaml');
    assert.match(refusal(missing), new RegExp(`PRODUCT_FILE ${missing} cannot be read`));
  });

  it('refuses an empty catalog and a bad key_prefix', () => {
    assert.match(refusal(file('name: Acme\nscopes: []\n')), /scopes: scopes must list at least one scope/);
    assert.match(refusal(file(GOOD.replace('key_prefix: acme', 'key_prefix: Acme_1'))), /key_prefix: key_prefix must be/);
  });

  it('the reference product is the seeds\' catalog and serves its own resources', () => {
    assert.equal(REFERENCE_PRODUCT.reference, true);
    assert.equal(REFERENCE_PRODUCT.name, 'Latchkey');
    assert.ok(REFERENCE_PRODUCT.isScope('conversations:read'));
    assert.ok(REFERENCE_PRODUCT.isScope('keys:rotate_self'));
  });
});

describe('the product file JSON Schema', () => {
  it('docs/product-file.schema.json is what the Zod schema generates now (run npm run product-schema)', () => {
    assert.equal(readFileSync(join(ROOT, 'docs/product-file.schema.json'), 'utf8'), productJsonSchemaText());
  });

  it('names the fields an editor needs, and refuses unknown ones', () => {
    const schema = JSON.parse(productJsonSchemaText()) as { required: string[]; additionalProperties: boolean; properties: Record<string, unknown> };
    assert.deepEqual([...schema.required].sort(), ['name', 'scopes']);
    assert.equal(schema.additionalProperties, false);
    for (const field of ['name', 'key_prefix', 'accent_color', 'scopes', 'gateway', 'embed']) assert.ok(field in schema.properties, field);
  });
});

describe('a start with a wrong product file', () => {
  it('stops with exit code 1 and one line naming the field', () => {
    const path = file(`${GOOD}  - { scope: contacts:read, group: Contacts, description: Again }\n`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
      env: { ...process.env, PRODUCT_FILE: path, PORT: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'latchkey-start-')), LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 1, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0] ?? '', /^Latchkey could not start: PRODUCT_FILE .* is invalid: scopes\.2\.scope: contacts:read is listed twice/);
  });
});
