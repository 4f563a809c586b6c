import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId } from '../ids.js';
import { eventFilterOf, parseTimestamp, searchQuery } from './audit-search-params.js';
import { timeOfId } from '../ids.js';
import { csvCell, exportFilename } from './export.js';

describe('audit search: timestamps', () => {
  const cases: Array<[string, string | null]> = [
    ['2026-05-01', '2026-05-01T00:00:00.000Z'],
    ['2026-05-01T09:30:00Z', '2026-05-01T09:30:00.000Z'],
    ['2026-05-01T09:30Z', '2026-05-01T09:30:00.000Z'],
    ['2026-05-01T09:30:00.123456Z', '2026-05-01T09:30:00.123Z'],
    ['2026-05-01T11:30:00+02:00', '2026-05-01T09:30:00.000Z'],
    ['2026-05-01T04:30:00-0500', '2026-05-01T09:30:00.000Z'],
    ['2026-05-01T09:30:00', null],
    ['2026-02-31', null],
    ['2026-02-29', null],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2026-13-01', null],
    ['2026-05-01T25:00:00Z', null],
    ['yesterday', null],
    ['1714555800', null],
    ['', null],
  ];
  for (const [input, expected] of cases) {
    it(`reads ${JSON.stringify(input)} as ${expected ?? 'invalid'}`, () => assert.equal(parseTimestamp(input)?.toISOString() ?? null, expected));
  }
});

describe('audit search: status and route filters', () => {
  const cases: Array<[Record<string, string>, { status?: { min: number; max: number }; route?: string; routePrefix?: boolean; method?: string }]> = [
    [{ status: '429' }, { status: { min: 429, max: 429 } }],
    [{ status: '4xx' }, { status: { min: 400, max: 499 } }],
    [{ status: '5XX' }, { status: { min: 500, max: 599 } }],
    [{ route: '/api/v1/tickets/:id' }, { route: '/api/v1/tickets/:id', routePrefix: false }],
    [{ route: '/api/v1/tickets*' }, { route: '/api/v1/tickets', routePrefix: true }],
    [{ method: 'patch' }, { method: 'PATCH' }],
  ];
  for (const [query, expected] of cases) {
    it(`reads ${JSON.stringify(query)}`, () => {
      const filter = eventFilterOf(searchQuery.parse(query));
      for (const [field, value] of Object.entries(expected)) assert.deepEqual(filter[field as keyof typeof filter], value, field);
    });
  }
  for (const status of ['4x', '600', '099', '42', '4xxx', 'x4x']) {
    it(`refuses status ${status}`, () => assert.equal(searchQuery.safeParse({ status }).success, false));
  }
});

describe('audit search: the time in an id', () => {
  it('reads back the milliseconds newId encoded', () => {
    for (const ms of [0, 1, 1_714_555_800_123, Date.now()]) assert.equal(timeOfId(newId('evt', ms))?.getTime(), ms);
  });
  for (const id of ['evt_nope', 'evt_0000000000000000000000000', 'evt_zzzzzzzzzzzzzzzzzzzzzzzzzz', 'evt_0000000000000000000000000I', '']) {
    it(`refuses ${JSON.stringify(id)}`, () => assert.equal(timeOfId(id), null));
  }
});

describe('audit export: CSV cells', () => {
  const cases: Array<[string | number | null, string]> = [
    [null, ''],
    [429, '429'],
    [1.25, '1.25'],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tTAB', "'\tTAB"],
    ['=HYPERLINK("x","y")', '"\'=HYPERLINK(""x"",""y"")"'],
    ['a=b', 'a=b'],
  ];
  for (const [value, expected] of cases) {
    it(`writes ${JSON.stringify(value)} as ${JSON.stringify(expected)}`, () => assert.equal(csvCell(value), expected));
  }

  it('names the file after the workspace and the moment', () => {
    assert.equal(exportFilename('ws_01abc', new Date('2026-05-01T09:30:05.123Z'), 'csv'), 'latchkey-audit-ws_01abc-20260501T093005Z.csv');
    assert.equal(exportFilename('ws_"; x', new Date('2026-05-01T09:30:05Z'), 'ndjson'), 'latchkey-audit-ws_x-20260501T093005Z.ndjson');
  });
});
