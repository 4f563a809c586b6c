import type { ReactNode } from 'react';
import type { Finding } from '../api/types.ts';
import { count, exactTime, shortTime } from '../ui/format.ts';

/*
 * A finding's evidence in words. Each rule's evidence has known fields (src/audit/anomalies.ts:
 * VolumeSpikeEvidence, NewSourceIpEvidence, ErrorBurstEvidence, IpRefusedEvidence); those are written out,
 * and anything else the detector adds is still shown, by name, rather than hidden.
 */

type Evidence = Record<string, unknown>;
type Row = [label: string, value: ReactNode];

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const list = (value: unknown): Evidence[] => (Array.isArray(value) ? value.filter((v): v is Evidence => typeof v === 'object' && v !== null) : []);
const time = (value: unknown) => {
  const iso = str(value);
  return iso && !Number.isNaN(Date.parse(iso)) ? <time dateTime={iso} title={exactTime(iso)}>{shortTime(iso)}</time> : undefined;
};
const hour = (value: unknown) => {
  const iso = str(value);
  if (!iso || Number.isNaN(Date.parse(iso))) return undefined;
  return <time dateTime={iso}>the hour from {shortTime(iso)}</time>;
};
const percent = (share: number) => `${Math.round(share * 100)}%`;
const rounded = (value: number) => count(Math.round(value * 10) / 10);

function volumeSpike(e: Evidence, used: Set<string>): Row[] {
  used.add('hour').add('requests').add('threshold').add('baseline');
  const baseline = (typeof e.baseline === 'object' && e.baseline !== null ? e.baseline : {}) as Evidence;
  const rows: Row[] = [];
  const requests = num(e.requests);
  if (requests !== undefined) rows.push(['Requests', <>{count(requests)} in {hour(e.hour) ?? 'one hour'}</>]);
  const threshold = num(e.threshold);
  if (threshold !== undefined) rows.push(['Flagged above', `${count(Math.ceil(threshold))} requests an hour`]);
  const [mean, stddev, peak, hours] = [num(baseline.mean), num(baseline.stddev), num(baseline.peak), num(baseline.hours)];
  if (mean !== undefined) {
    rows.push([
      'Usual',
      `${rounded(mean)} an hour on average${stddev !== undefined ? ` (± ${rounded(stddev)})` : ''}${peak !== undefined ? `, at most ${count(peak)}` : ''}${hours !== undefined ? `, over the ${count(hours)} hours before` : ''}`,
    ]);
  }
  return rows;
}

function newSourceIp(e: Evidence, used: Set<string>): Row[] {
  used.add('ip').add('network').add('ip_count').add('first_seen').add('last_seen').add('requests').add('lookback_days');
  const rows: Row[] = [];
  const [ip, network, ips] = [str(e.ip), str(e.network), num(e.ip_count)];
  if (network) {
    rows.push([
      'Network',
      <>
        <code>{network}</code>
        {ips !== undefined && ` — ${ips === 1 ? '1 IP' : `${count(ips)} IPs`}`}
        {ip && (
          <>
            , first <code>{ip}</code>
          </>
        )}
      </>,
    ]);
  } else if (ip) {
    rows.push(['Source IP', <code>{ip}</code>]);
  }
  const requests = num(e.requests);
  if (requests !== undefined) rows.push(['Requests from it', count(requests)]);
  const first = time(e.first_seen);
  const last = time(e.last_seen);
  if (first || last) rows.push(['Seen', <>{first ?? '?'} to {last ?? '?'}</>]);
  const days = num(e.lookback_days);
  if (days !== undefined) rows.push(['New because', `the key was not called from ${network ? 'this network' : 'it'} in the ${count(days)} days before`]);
  return rows;
}

function errorBurst(e: Evidence, used: Set<string>): Row[] {
  used.add('hour').add('client_errors').add('requests').add('share').add('top_error_codes');
  const rows: Row[] = [];
  const [errors, requests, share] = [num(e.client_errors), num(e.requests), num(e.share)];
  if (errors !== undefined) {
    rows.push([
      'Client errors (4xx)',
      <>
        {count(errors)}
        {requests !== undefined && ` of ${count(requests)} requests`}
        {share !== undefined && ` (${percent(share)})`} in {hour(e.hour) ?? 'one hour'}
      </>,
    ]);
  }
  const codes = list(e.top_error_codes);
  if (codes.length > 0) {
    rows.push([
      'Most frequent',
      <ul className="plain compact">
        {codes.map((c, index) => (
          <li key={index}>
            <code>{String(c.status ?? '')}</code> {str(c.error_code) ?? <span className="muted">no error code</span>} — {count(num(c.requests) ?? 0)}
          </li>
        ))}
      </ul>,
    ]);
  }
  return rows;
}

function ipRefused(e: Evidence, used: Set<string>): Row[] {
  used.add('refused').add('per_hour').add('ips').add('ip_count').add('ips_complete');
  const rows: Row[] = [];
  const refused = num(e.refused);
  if (refused !== undefined) rows.push(['Calls refused by the IP allowlist', count(refused)]);
  const ips = list(e.ips);
  if (ips.length > 0) {
    const total = num(e.ip_count);
    rows.push([
      total !== undefined && total > ips.length ? `Source IPs (${count(ips.length)} of ${count(total)})` : 'Source IPs',
      <ul className="plain compact">
        {ips.map((ip, index) => (
          <li key={index}>
            <code>{str(ip.ip)}</code> — {count(num(ip.requests) ?? 0)} refused{time(ip.last_seen) && <>, last {time(ip.last_seen)}</>}
          </li>
        ))}
      </ul>,
    ]);
  }
  if (e.ips_complete === false) rows.push(['Note', 'Only the most recent refused hours were searched for source IPs; there may be others.']);
  const perHour = list(e.per_hour);
  if (perHour.length > 0) {
    rows.push([
      'By hour',
      <ul className="plain compact">
        {perHour.map((h, index) => (
          <li key={index}>
            {time(h.hour) ?? str(h.hour)}: {count(num(h.requests) ?? 0)}
          </li>
        ))}
      </ul>,
    ]);
  }
  return rows;
}

const RULES: Record<string, (e: Evidence, used: Set<string>) => Row[]> = {
  volume_spike: volumeSpike,
  new_source_ip: newSourceIp,
  error_burst: errorBurst,
  ip_refused: ipRefused,
};

/** A value the console has no words for: a short one as it is, anything else as indented JSON. */
function other(value: unknown): ReactNode {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return String(value);
  return <pre>{JSON.stringify(value, null, 2)}</pre>;
}

export function FindingEvidence({ finding }: { finding: Finding }) {
  const used = new Set<string>();
  const rows = RULES[finding.rule]?.(finding.evidence, used) ?? [];
  // Evidence not in the shape its rule is known by: every field is shown as it is.
  if (rows.length === 0) used.clear();
  for (const [name, value] of Object.entries(finding.evidence)) {
    if (!used.has(name)) rows.push([name.replaceAll('_', ' '), other(value)]);
  }
  if (rows.length === 0) return null;
  return (
    <dl className="evidence">
      {rows.map(([label, value], index) => (
        <div key={`${label}-${index}`}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
