import type { KeyUsage } from '../api/types.ts';
import { count, shortTime } from '../ui/format.ts';

/** Top routes, source IPs (new ones marked), anomalies with their evidence, scopes granted but unused. */
export function UsageDetails({ usage }: { usage: KeyUsage }) {
  return (
    <div className="grid-2">
      <div className="card">
        <h2>Top routes</h2>
        {usage.top_routes.length === 0 ? (
          <p className="muted">No calls in this period.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Route</th>
                <th scope="col">Requests</th>
                <th scope="col">Errors</th>
              </tr>
            </thead>
            <tbody>
              {usage.top_routes.map((r) => (
                <tr key={r.route}>
                  <th scope="row">
                    <code>{r.route}</code>
                  </th>
                  <td>{count(r.requests)}</td>
                  <td>{count(r.errors)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div className="card">
        <h2>Source IPs ({count(usage.source_ips.count)})</h2>
        {usage.source_ips.ips.length === 0 ? (
          <p className="muted">No calls in this period.</p>
        ) : (
          <ul className="plain">
            {usage.source_ips.ips.map((ip) => (
              <li key={ip.ip} className={ip.new ? 'new-ip' : undefined}>
                <code>{ip.ip}</code> — {count(ip.requests)} requests, last {shortTime(ip.last_seen)}
                {ip.new && <span className="badge status-new">new</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <h2>Anomalies</h2>
        {usage.anomalies.length === 0 ? (
          <p className="muted">Nothing unusual: no volume spikes, new IPs or repeated 4xx were flagged.</p>
        ) : (
          <ul className="plain anomalies">
            {usage.anomalies.map((a, index) => (
              <li key={index} className={`anomaly severity-${a.severity}`}>
                <p>
                  <span className="badge">{a.severity}</span> <strong>{a.type.replaceAll('_', ' ')}</strong> — {a.summary}
                </p>
                <details>
                  <summary>Evidence</summary>
                  <pre>{JSON.stringify(a.evidence, null, 2)}</pre>
                </details>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <h2>Scopes</h2>
        <p>
          Used:{' '}
          {usage.scopes.used.length === 0 ? <span className="muted">none</span> : usage.scopes.used.map((s) => `${s.scope} (${count(s.requests)})`).join(', ')}
        </p>
        {usage.scopes.unused.length > 0 ? (
          <p className="note warning">
            Granted but unused in {usage.days} days: {usage.scopes.unused.map((s) => <code key={s}>{s} </code>)} — consider removing{' '}
            {usage.scopes.unused.length === 1 ? 'it' : 'them'}.
          </p>
        ) : (
          <p className="muted">Every granted scope was used.</p>
        )}
      </div>
    </div>
  );
}
