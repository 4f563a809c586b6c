import { api } from '../api/client.ts';
import { LoadError } from '../session/RoleRequired.tsx';
import { useSession } from '../session/session.ts';
import { count, shortTime } from '../ui/format.ts';
import { Loading } from '../ui/States.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { KeyHeader } from './KeyHeader.tsx';
import { UsageChart } from './UsageChart.tsx';
import { UsageDetails } from './UsageDetails.tsx';

/** A key's last 30 days at a glance. */
export function KeyUsagePage({ keyId }: { keyId: string }) {
  const { workspace } = useSession();
  const [loaded, reload] = useLoad(async () => {
    const [key, usage] = await Promise.all([api.getKey(workspace.id, keyId), api.usage(workspace.id, keyId, 30)]);
    return { key, usage };
  }, [workspace.id, keyId]);
  if (loaded.state === 'loading') return <Loading what="Loading usage" />;
  if (loaded.state === 'error') return <LoadError error={loaded.error} message={loaded.message} onRetry={reload} />;
  const { key, usage } = loaded.data;
  const { totals } = usage;
  return (
    <section aria-labelledby="key-title">
      <KeyHeader apiKey={key} tab="usage" />
      <div className="card">
        <div className="card-head">
          <h2>Last 30 days</h2>
          <button type="button" className="secondary small" onClick={reload}>
            Refresh
          </button>
        </div>
        <p className="muted">
          {shortTime(usage.period.from)} – {shortTime(usage.period.to)}: {count(totals.total)} requests ({count(totals['2xx'])} 2xx, {count(totals['4xx'])}{' '}
          4xx, {count(totals['5xx'])} 5xx)
        </p>
        <UsageChart days={usage.per_day} />
      </div>
      <UsageDetails usage={usage} />
    </section>
  );
}
