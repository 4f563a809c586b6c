import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

it("a suite skipped for want of a server shows in the runner's skipped count, with its reason", async () => {
  // Without NODE_TEST_CONTEXT, which makes a child of the runner report to it instead of printing.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/fixtures/skipped-suite.ts'], { cwd: ROOT, env, timeout: 60_000 });
  assert.match(stdout, /^# skipped 1$/m, stdout);
  assert.match(stdout, /^# pass 1$/m);
  assert.match(stdout, /^ok \d+ - needs a server # SKIP the server is unreachable$/m);
});
