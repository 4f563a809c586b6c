import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webhookUrlProblem } from './webhook-url.js';

const ACCEPTED = [
  'https://hooks.example.com/latchkey',
  'http://hooks.example.com:8080/in?token=abc#frag',
  'https://HOOKS.Example.COM/',
  'https://hooks.example.com./x',
  'https://8.8.8.8/hook',
  'https://[2606:4700::1111]/hook',
  'https://xn--bcher-kva.example/hook',
  'https://bücher.example/hook',
];

const REFUSED: Array<[string, RegExp]> = [
  // Internal targets written as addresses.
  ['http://169.254.169.254/latest/meta-data/', /private, loopback or link-local/],
  ['http://127.0.0.1/', /private, loopback/],
  ['http://10.0.0.5/', /private/],
  ['http://172.16.0.1/', /private/],
  ['http://192.168.1.1/', /private/],
  ['http://100.64.0.1/', /private/],
  ['http://0.0.0.0/', /private/],
  ['http://224.0.0.1/', /private/],
  ['http://255.255.255.255/', /private/],
  ['http://[::1]:6379/', /private, loopback/],
  ['http://[::]/', /private/],
  ['http://[fe80::1]/', /link-local/],
  ['http://[fd00:ec2::254]/', /private/],
  ['http://[::ffff:127.0.0.1]/', /private/],
  ['http://[::ffff:7f00:1]/', /private/],
  ['http://[::127.0.0.1]/', /private/],
  ['http://[64:ff9b::a9fe:a9fe]/', /private/],
  ['http://[2002:7f00:1::]/', /private/],
  // Numeric shorthand: the parser turns each of these into a dotted address; what was written is refused.
  ['http://0x7f.1/', /dotted decimal/],
  ['http://0x7f000001/', /dotted decimal/],
  ['http://2130706433/', /dotted decimal/],
  ['http://127.1/', /dotted decimal/],
  ['http://0177.0.0.1/', /dotted decimal/],
  ['http://8.8.8.8./', /dotted decimal/],
  ['http://0x08.0x08.0x08.0x08/', /dotted decimal/],
  ['http://%31%32%37.0.0.1/', /dotted decimal/],
  ['http://１２７.０.０.１/', /dotted decimal/],
  // Names that are internal by convention, or not a full name.
  ['http://localhost:3000/', /full domain name/],
  ['http://api.localhost/', /local or internal/],
  ['http://metadata.google.internal/computeMetadata/v1/', /local or internal/],
  ['http://printer.local/', /local or internal/],
  ['http://metadata/', /full domain name/],
  // Credentials, schemes, characters.
  ['https://user:pass@hooks.example.com/', /user name or password/],
  ['https://user@hooks.example.com/', /user name or password/],
  ['https://hooks.example.com\\@10.0.0.1/', /backslashes/],
  ['https://hooks.example.com/\u0000x', /control characters/],
  ['https://hooks.example.com/\ud800', /control characters/],
  ['https://hooks.example.com/a b', /spaces/],
  [' https://hooks.example.com/', /spaces/],
  ['https://hooks.example.com/\t', /control characters/],
  ['https://hooks.example.com/\u0085', /control characters/],
  ['https://hooks.example.com/\u2028', /control characters/],
  ['ftp://hooks.example.com/', /http or https/],
  ['file:///etc/passwd', /http or https/],
  ['javascript:alert(1)', /http or https/],
  ['gopher://127.0.0.1:6379/_INFO', /http or https/],
  ['hooks.example.com/in', /not a valid URL/],
  ['https://', /not a valid URL/],
  ['https://[::1/', /not a valid URL/],
];

describe('webhookUrlProblem', () => {
  for (const url of ACCEPTED) {
    it(`accepts ${url}`, () => assert.equal(webhookUrlProblem(url), null));
  }
  for (const [url, reason] of REFUSED) {
    it(`refuses ${JSON.stringify(url)}`, () => assert.match(webhookUrlProblem(url) ?? 'accepted', reason));
  }
});

describe('webhookUrlProblem with rules', () => {
  const table: Array<[url: string, rules: Parameters<typeof webhookUrlProblem>[1], expected: RegExp | null]> = [
    ['https://hooks.example.com/in', { httpsOnly: true }, null],
    ['http://hooks.example.com/in', { httpsOnly: true }, /https URL/],
    ['http://127.0.0.1:8080/in', { httpsOnly: true }, /https URL/],
    // EVENTS_ALLOW_PRIVATE_NETWORKS: http and any host, but still a well-formed URL without credentials.
    ['http://127.0.0.1:8080/in', { httpsOnly: true, privateNetworks: true }, null],
    ['http://localhost:3000/', { privateNetworks: true }, null],
    ['https://[::1]/', { privateNetworks: true }, null],
    ['http://u:p@127.0.0.1/', { privateNetworks: true }, /user name or password/],
    ['ftp://127.0.0.1/', { privateNetworks: true }, /http or https/],
    ['http://127.0.0.1/\u0000', { privateNetworks: true }, /control characters/],
  ];
  for (const [url, rules, expected] of table) {
    it(`${JSON.stringify(url)} with ${JSON.stringify(rules)}`, () => {
      const problem = webhookUrlProblem(url, rules);
      if (expected === null) assert.equal(problem, null);
      else assert.match(problem ?? 'accepted', expected);
    });
  }
});
