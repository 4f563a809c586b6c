import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { generateSecret } from './keys/key-format.js';
import { loggerOptions } from './logging.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino(loggerOptions('info'), sink), lines };
}

describe('log lines', () => {
  it('mask a key in a message, an error, or a request url, also on a child logger', () => {
    const { logger, lines } = capture();
    const key = generateSecret('lk', 'live');
    const child = logger.child({ reqId: 'req_1' });
    child.info(`Route GET:/api/v1/x/${key} not found`);
    logger.warn({ queued: 3 }, `retrying key_${key}`);
    child.error({ err: new Error(`duplicate value ${key}_old`) }, 'unhandled error');
    const request = { method: 'GET', url: `/api/v1/contacts/${key}x?${key}=1&q=${key}`, ip: '192.0.2.1' };
    child.info({ req: request }, 'incoming request');
    const text = lines.join('');
    assert.equal(lines.length, 4);
    assert.ok(!text.includes(key.slice(12, 30)), text);
    assert.match(text, /not found/);
    assert.match(text, /"queued":3/);
    assert.match(text, /duplicate value \[REDACTED\]_old/);
  });
});
