import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

const ACCEPTED: Array<[string | undefined, number | string[] | false]> = [
  [undefined, false],
  ['', false],
  ['  ', false],
  ['false', false],
  ['0', false],
  ['1', 1],
  [' 2 ', 2],
  ['20', 20],
  ['127.0.0.1', ['127.0.0.1']],
  ['10.0.0.0/8, 127.0.0.1', ['10.0.0.0/8', '127.0.0.1']],
  ['10.0.0.0/8,,192.168.0.0/16,', ['10.0.0.0/8', '192.168.0.0/16']],
  ['::1,fd00::/8', ['::1', 'fd00::/8']],
  ['0.0.0.0/0', ['0.0.0.0/0']],
];

const REFUSED: Array<[string, RegExp]> = [
  ['true', /"true" would believe X-Forwarded-For from any client/],
  ['TRUE', /any client/],
  ['yes', /any client/],
  ['*', /any client/],
  ['all', /any client/],
  ['21', /hop count must be at most 20/],
  ['99999999999999999999', /hop count/],
  ['-1', /"-1" is not an IP address or CIDR range/],
  ['banana', /"banana" is not an IP address/],
  ['10.0.0.0/33', /"10\.0\.0\.0\/33"/],
  ['::1/129', /"::1\/129"/],
  ['10.0.0.0/8/8', /"10\.0\.0\.0\/8\/8"/],
  ['10.0.0.0/x', /"10\.0\.0\.0\/x"/],
  ['127.0.0.1, loopback', /"loopback"/],
  ['0x7f.1', /"0x7f\.1"/],
];

describe('TRUST_PROXY', () => {
  for (const [raw, value] of ACCEPTED) {
    it(`accepts ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(loadConfig(raw === undefined ? {} : { TRUST_PROXY: raw }).trustProxy, value);
    });
  }
  for (const [raw, problem] of REFUSED) {
    it(`refuses ${JSON.stringify(raw)} with a message that names TRUST_PROXY and what it accepts`, () => {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: raw }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /^Invalid configuration: TRUST_PROXY: /);
          assert.match(error.message, problem);
          if (!/hop count must/.test(error.message)) assert.match(error.message, /a hop count \(e\.g\. 1\) or a comma-separated list of proxy addresses or CIDR ranges/);
          assert.doesNotMatch(error.message, /\n/, 'one line');
          return true;
        },
      );
    });
  }
  it('says every wrong variable, in one line', () => {
    assert.throws(() => loadConfig({ TRUST_PROXY: 'true', PORT: 'abc' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /PORT: .*; TRUST_PROXY: |TRUST_PROXY: .*; PORT: /);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });
});

describe('the gateway variables', () => {
  const withGateway = new URL('../docs/examples/acme.product.yaml', import.meta.url).pathname;

  it('are refused without a gateway in the product file, naming each', () => {
    for (const env of [{ GATEWAY_PORT: '9090' }, { GATEWAY_SIGNING_KEY: 'pem' }, { GATEWAY_PORT: '9090', GATEWAY_SIGNING_KEY: 'pem' }]) {
      assert.throws(() => loadConfig(env), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of Object.keys(env)) assert.match(error.message, new RegExp(`${name}.*no gateway`));
        return true;
      });
    }
  });

  it("GATEWAY_PORT wins over the product file's gateway.port", () => {
    assert.equal(loadConfig({ PRODUCT_FILE: withGateway }).gatewayPort, 8080);
    assert.equal(loadConfig({ PRODUCT_FILE: withGateway, GATEWAY_PORT: '9191' }).gatewayPort, 9191);
    assert.equal(loadConfig({}).gatewayPort, undefined);
  });
});
