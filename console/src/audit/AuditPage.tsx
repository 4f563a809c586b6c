import { useState } from 'react';
import { api, fieldOf } from '../api/client.ts';
import type { AuditFilters } from '../api/types.ts';
import { isRoleRefusal, LoadError, RoleRequired } from '../session/RoleRequired.tsx';
import { useSession } from '../session/session.ts';
import { Empty, Loading } from '../ui/States.tsx';
import { useLoad } from '../ui/useLoad.ts';
import { AuditEventDialog } from './AuditEventDialog.tsx';
import { AuditFilterForm } from './AuditFilterForm.tsx';
import { AuditPager, useCursorPages } from './AuditPager.tsx';
import { AuditTable } from './AuditTable.tsx';
import { ExportButtons } from './ExportButtons.tsx';

const URL_FILTERS = ['key_id', 'route', 'status', 'source_ip', 'from', 'to'] as const satisfies ReadonlyArray<keyof AuditFilters>;

/** Filters other pages link with: a key's calls (`?key_id=`), an anomaly's key, window and IP. */
function filtersFromUrl(): AuditFilters {
  const search = new URLSearchParams(location.search);
  const filters: AuditFilters = {};
  for (const name of URL_FILTERS) {
    const value = search.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** Every call to the API, newest first: filters, pages, one event in full, exports. */
export function AuditPage() {
  const { workspace } = useSession();
  const [filters, setFilters] = useState<AuditFilters>(filtersFromUrl);
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [keys] = useLoad(() => api.listKeys(workspace.id, 'all'), [workspace.id]);
  const [events, reload] = useLoad(() => api.auditEvents(workspace.id, filters, cursor), [workspace.id, filters, cursor]);
  const [open, setOpen] = useState<string | null>(null);
  const field = events.state === 'error' ? fieldOf(events.error) : undefined;

  // A Member: the page says why, without controls the API would refuse.
  if (events.state === 'error' && isRoleRefusal(events.error)) return <RoleRequired />;
  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <div>
          <p className="breadcrumb">Settings</p>
          <h1 id="audit-title">Audit log</h1>
        </div>
        <ExportButtons workspaceId={workspace.id} filters={filters} />
      </div>
      <p className="lede">Every API call: key, endpoint, status, latency, source IP and argument hash. Full payloads are kept for 7 days.</p>
      <AuditFilterForm
        key={JSON.stringify(filters)}
        keys={keys.state === 'ready' ? keys.data.data : []}
        filters={filters}
        errors={field && events.state === 'error' ? { [field]: events.message } : {}}
        onApply={(next) => {
          pages.reset();
          setFilters(next);
        }}
      />
      {events.state === 'loading' && <Loading what="Loading events" />}
      {events.state === 'error' && !field && <LoadError error={events.error} message={events.message} onRetry={reload} />}
      {events.state === 'ready' && (
        <>
          {events.data.data.length === 0 ? (
            <Empty>
              <p>No calls match these filters.</p>
            </Empty>
          ) : (
            <AuditTable events={events.data.data} onOpen={setOpen} />
          )}
          <AuditPager pages={pages} nextCursor={events.data.has_more ? events.data.next_cursor : null} onRefresh={reload} />
        </>
      )}
      {open && <AuditEventDialog eventId={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
