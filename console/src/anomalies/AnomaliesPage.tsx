import { useId, useState } from 'react';
import { api, messageOf } from '../api/client.ts';
import type { Finding, FindingStatus } from '../api/types.ts';
import { AuditPager, useCursorPages } from '../audit/AuditPager.tsx';
import { isRoleRefusal, LoadError, RoleRequired } from '../session/RoleRequired.tsx';
import { useConsoleSession } from '../session/session.ts';
import { Link } from '../ui/Link.tsx';
import { Empty, Loading } from '../ui/States.tsx';
import { ExactTime, RelativeTime } from '../ui/Time.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { FindingEvidence } from './Evidence.tsx';
import { useOpenFindings } from './open-findings.ts';

type Filter = FindingStatus | 'all';

const RULE_LABEL: Record<string, string> = {
  volume_spike: 'Volume spike',
  new_source_ip: 'New source IP',
  error_burst: 'Error burst',
  ip_refused: 'Calls refused by the IP allowlist',
};

const STATUS_LABEL: Record<FindingStatus, string> = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' };

/** What each status offers: acknowledge ("seen, looking into it"), resolve ("dealt with"), reopen. */
const ACTIONS: Record<FindingStatus, Array<{ to: FindingStatus; label: string }>> = {
  open: [
    { to: 'acknowledged', label: 'Acknowledge' },
    { to: 'resolved', label: 'Resolve' },
  ],
  acknowledged: [
    { to: 'resolved', label: 'Resolve' },
    { to: 'open', label: 'Reopen' },
  ],
  resolved: [{ to: 'open', label: 'Reopen' }],
};

export const ruleLabel = (rule: string) => RULE_LABEL[rule] ?? rule.replaceAll('_', ' ');

/** The audit log filtered to what a finding is about: its key and window (and its IP, or its errors). */
export function auditLinkOf(finding: Finding): string {
  const params = new URLSearchParams();
  if (finding.api_key) params.set('key_id', finding.api_key.id);
  params.set('from', finding.window.start);
  params.set('to', finding.window.end);
  // The audit log filters one exact IP: a new network's calls from several IPs are shown by key and window only.
  const { ip, ip_count: ips } = finding.evidence;
  if (finding.rule === 'new_source_ip' && typeof ip === 'string' && (ips === undefined || ips === 1)) params.set('source_ip', ip);
  if (finding.rule === 'error_burst' || finding.rule === 'ip_refused') params.set('status', '4xx');
  return `/audit?${params.toString()}`;
}

/** Settings → Anomalies: what the detector found, open first; each acknowledged, resolved or reopened here. */
export function AnomaliesPage() {
  const { workspace, me } = useConsoleSession();
  const openFindings = useOpenFindings();
  // acknowledged_by and resolved_by are actor ids: the members list names the people.
  const [members] = useLoad(() => api.members(workspace.id), [workspace.id]);
  const who = (actorId: string): string => {
    if (actorId === me.user.id) return 'you';
    const member = members.state === 'ready' ? members.data.data.find((m) => m.user_id === actorId) : undefined;
    if (member) return member.email;
    return actorId.startsWith('usr_') ? 'a former member' : 'a service key';
  };
  const [filter, setFilter] = useState<Filter>('all');
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [findings, reload] = useLoad(() => api.findings(workspace.id, { status: filter }, cursor), [workspace.id, filter, cursor]);
  const [busy, setBusy] = useState('');
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const filterId = useId();

  const change = async (finding: Finding, to: FindingStatus) => {
    setBusy(finding.id);
    setError('');
    setStatus('');
    try {
      await api.setFindingStatus(workspace.id, finding.id, to);
      setStatus(`${ruleLabel(finding.rule)}${finding.api_key ? ` on ${finding.api_key.name}` : ''}: ${STATUS_LABEL[to].toLowerCase()}.`);
      reload();
      openFindings.refresh();
    } catch (caught) {
      setError(messageOf(caught));
    }
    setBusy('');
  };

  if (findings.state === 'error' && isRoleRefusal(findings.error)) return <RoleRequired />;
  return (
    <section aria-labelledby="anomalies-title">
      <div className="page-head">
        <div>
          <p className="breadcrumb">Settings</p>
          <h1 id="anomalies-title">Anomalies</h1>
        </div>
      </div>
      <p className="lede">
        Every minute Latchkey looks at how each key of <strong>{workspace.name}</strong> is used: volume spikes, calls from new IPs, bursts of errors and calls
        the IP allowlist refused. What it finds stays here until you acknowledge or resolve it.
      </p>
      <div className="toolbar">
        <label htmlFor={filterId}>Show</label>
        <select
          id={filterId}
          value={filter}
          onChange={(e) => {
            pages.reset();
            setFilter(e.target.value as Filter);
          }}
        >
          <option value="all">All findings, open first</option>
          <option value="open">Open</option>
          <option value="acknowledged">Acknowledged</option>
          <option value="resolved">Resolved</option>
        </select>
        {findings.state === 'ready' && <span className="muted">{findings.data.open_count === 0 ? 'None open' : `${findings.data.open_count} open`}</span>}
      </div>
      <p className="success-text" role="status">
        {status}
      </p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {findings.state === 'loading' && <Loading what="Loading findings" />}
      {findings.state === 'error' && <LoadError error={findings.error} message={findings.message} onRetry={reload} />}
      {findings.state === 'ready' &&
        (findings.data.data.length === 0 && !pages.hasNewer ? (
          <Empty>
            <p>{filter === 'all' ? 'Nothing unusual found yet.' : `No ${STATUS_LABEL[filter].toLowerCase()} findings.`}</p>
            {filter === 'all' && <p className="muted">When the detector flags a key’s use, it shows here and in the navigation.</p>}
          </Empty>
        ) : (
          <ul className="card-list findings">
            {findings.data.data.map((finding) => (
              <FindingCard key={finding.id} finding={finding} who={who} busy={busy === finding.id} onChange={(to) => void change(finding, to)} />
            ))}
          </ul>
        ))}
      {findings.state === 'ready' && <AuditPager pages={pages} nextCursor={findings.data.has_more ? findings.data.next_cursor : null} onRefresh={reload} />}
    </section>
  );
}

function FindingCard({ finding, who, busy, onChange }: { finding: Finding; who: (actorId: string) => string; busy: boolean; onChange: (to: FindingStatus) => void }) {
  const name = `${ruleLabel(finding.rule)}${finding.api_key ? ` on ${finding.api_key.name}` : ''}`;
  return (
    <li className={`card finding severity-${finding.severity} finding-${finding.status}`}>
      <div className="finding-head">
        <span className={`badge severity severity-${finding.severity}`}>
          {finding.severity}
          <span className="sr-only"> severity</span>
        </span>
        <h2>{ruleLabel(finding.rule)}</h2>
        <span className={`badge finding-status status-${finding.status}`}>{STATUS_LABEL[finding.status]}</span>
      </div>
      <p className="finding-summary">{finding.summary}</p>
      <dl className="facts">
        <div>
          <dt>Key</dt>
          <dd>
            {finding.api_key ? (
              <>
                <Link to={`/keys/${encodeURIComponent(finding.api_key.id)}`}>{finding.api_key.name}</Link> <code>{finding.api_key.prefix}</code>
              </>
            ) : (
              <span className="muted">deleted</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Window</dt>
          <dd>
            <ExactTime iso={finding.window.start} /> – <ExactTime iso={finding.window.end} />
          </dd>
        </div>
        <div>
          <dt>Detected</dt>
          <dd>
            <RelativeTime iso={finding.detected_at} never="—" />
          </dd>
        </div>
        {finding.acknowledged_at && finding.status !== 'open' && (
          <div>
            <dt>Acknowledged</dt>
            <dd>
              <RelativeTime iso={finding.acknowledged_at} />
              {finding.acknowledged_by && <span className="muted"> by {who(finding.acknowledged_by)}</span>}
            </dd>
          </div>
        )}
        {finding.resolved_at && finding.status === 'resolved' && (
          <div>
            <dt>Resolved</dt>
            <dd>
              <RelativeTime iso={finding.resolved_at} />
              {finding.resolved_by && <span className="muted"> by {who(finding.resolved_by)}</span>}
            </dd>
          </div>
        )}
      </dl>
      <details className="evidence-details" open={finding.status === 'open'}>
        <summary>Evidence</summary>
        <FindingEvidence finding={finding} />
      </details>
      <div className="actions start">
        {ACTIONS[finding.status].map((action) => (
          <button
            key={action.to}
            type="button"
            className={action.to === 'acknowledged' ? 'primary small' : 'secondary small'}
            disabled={busy}
            aria-label={`${action.label}: ${name}`}
            onClick={() => onChange(action.to)}
          >
            {action.label}
          </button>
        ))}
        <Link to={auditLinkOf(finding)} className="audit-link">
          Matching audit events<span className="sr-only"> of {name}</span>
        </Link>
      </div>
    </li>
  );
}
