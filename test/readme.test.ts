import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startServer, type RunningServer } from './process.js';

const ROOT = new URL('..', import.meta.url).pathname;

function transcript(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- transcript:start -->\s*```bash\n([\s\S]*?)```\s*<!-- transcript:end -->/.exec(readme);
  if (!block?.[1]) throw new Error('README has no transcript block');
  return block[1];
}

describe('the README, as a newcomer runs it', () => {
  let server: RunningServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-readme-'));
    server = await startServer('npm', ['start', '--silent'], { DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' }, await freePort());
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm start serves on a fresh data folder, and the curl transcript works as written', () => {
    const script = transcript().replaceAll('http://localhost:3000', server.url);
    // curl fails the script on any HTTP error, so a refused step cannot pass unnoticed.
    const prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n';
    const run = spawnSync('bash', ['-c', prelude + script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `transcript failed:\n${run.stdout}\n${run.stderr}\n${server.output()}`);
    assert.match(run.stdout, /"secret": "lk_live_[0-9A-Za-z]{36}"/);
    assert.match(run.stdout, /"created_by": "ada@example.com"/);
    assert.match(run.stdout, /"status": "expiring"/);
    assert.match(run.stdout, /"status": "revoked"/);
    assert.match(run.stdout, /"revoked_at": "20/);
  });
});
