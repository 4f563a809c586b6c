import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiryCutoff, partitionDay, partitionName, planPartitions, startOfUtcDay } from './retention.js';

const at = (iso: string) => new Date(iso);

describe('audit partition names', () => {
  it('name a UTC day and read it back', () => {
    const day = at('2026-03-09T00:00:00Z');
    assert.equal(partitionName('audit_events', day), 'audit_events_p20260309');
    assert.deepEqual(partitionDay('audit_events', 'audit_events_p20260309'), day);
  });

  const notDays: Array<[string, string]> = [
    ['the default partition', 'audit_events_default'],
    ["another table's partition", 'audit_payloads_p20260309'],
    ['an impossible date', 'audit_events_p20260230'],
    ['a short date', 'audit_events_p2026039'],
    ['a suffix', 'audit_events_p20260309_old'],
  ];
  for (const [label, name] of notDays) {
    it(`read no day from ${label}`, () => assert.equal(partitionDay('audit_events', name), null));
  }
});

describe('the expiry cutoff', () => {
  const cases: Array<[string, string, number, string]> = [
    ['noon, 7 days', '2026-03-09T12:00:00Z', 7, '2026-03-02T00:00:00.000Z'],
    ['just after midnight', '2026-03-09T00:00:01Z', 7, '2026-03-02T00:00:00.000Z'],
    ['just before midnight', '2026-03-09T23:59:59Z', 90, '2025-12-09T00:00:00.000Z'],
  ];
  for (const [label, now, days, cutoff] of cases) {
    it(label, () => assert.equal(expiryCutoff(at(now), days).toISOString(), cutoff));
  }
  it('starts days at UTC midnight', () => assert.equal(startOfUtcDay(at('2026-03-09T23:59:59.999Z')).toISOString(), '2026-03-09T00:00:00.000Z'));
});

describe('planPartitions', () => {
  const now = at('2026-03-09T12:00:00Z');

  it('creates today and the next two days when none exist', () => {
    const plan = planPartitions('audit_payloads', [], now, 7);
    assert.deepEqual(plan.create.map((d) => partitionName('audit_payloads', d)), [
      'audit_payloads_p20260309',
      'audit_payloads_p20260310',
      'audit_payloads_p20260311',
    ]);
    assert.deepEqual(plan.drop, []);
  });

  it('creates only the missing days, and the next day near midnight', () => {
    const plan = planPartitions('audit_events', ['audit_events_p20260309', 'audit_events_p20260311'], at('2026-03-09T23:59:00Z'), 90);
    assert.deepEqual(plan.create.map((d) => partitionName('audit_events', d)), ['audit_events_p20260310']);
  });

  it('drops the days that ended more than keepDays ago, and nothing else', () => {
    const existing = [
      'audit_payloads_default',
      'audit_payloads_p20260228',
      'audit_payloads_p20260301', // ended 2026-03-02T00:00Z: exactly at the cutoff, dropped
      'audit_payloads_p20260302', // its last row is younger than 7 days until 2026-03-10: kept
      'audit_payloads_p20260309',
      'audit_payloads_p20260310',
      'audit_payloads_p20260311',
      'audit_payloads_archive',
    ];
    const plan = planPartitions('audit_payloads', existing, now, 7);
    assert.deepEqual(plan.create, []);
    assert.deepEqual(plan.drop, ['audit_payloads_p20260228', 'audit_payloads_p20260301']);
  });

  it('is idempotent: the plan after applying a plan is empty', () => {
    const first = planPartitions('audit_events', ['audit_events_p20251201'], now, 90);
    const after = ['audit_events_p20251201', ...first.create.map((d) => partitionName('audit_events', d))].filter((n) => !first.drop.includes(n));
    assert.deepEqual(planPartitions('audit_events', after, now, 90), { create: [], drop: [] });
  });
});
