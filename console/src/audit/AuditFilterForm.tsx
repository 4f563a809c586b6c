import { useState, type FormEvent } from 'react';
import type { ApiKey, AuditFilters } from '../api/types.ts';
import { Field } from '../ui/Field.tsx';

/** datetime-local is the viewer's local time; the API wants an instant with its offset. */
function toInstant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function toLocal(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function AuditFilterForm({
  keys,
  filters,
  errors,
  onApply,
}: {
  keys: ApiKey[];
  filters: AuditFilters;
  errors: Record<string, string>;
  onApply: (filters: AuditFilters) => void;
}) {
  const [form, setForm] = useState({ ...filters, from: toLocal(filters.from), to: toLocal(filters.to) });
  const set = (patch: Partial<typeof form>) => setForm({ ...form, ...patch });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next: AuditFilters = {};
    if (form.key_id) next.key_id = form.key_id;
    if (form.route?.trim()) next.route = form.route.trim();
    if (form.status?.trim()) next.status = form.status.trim();
    if (form.source_ip?.trim()) next.source_ip = form.source_ip.trim();
    const from = toInstant(form.from);
    const to = toInstant(form.to);
    if (from) next.from = from;
    if (to) next.to = to;
    onApply(next);
  };
  return (
    <form className="filters card" onSubmit={submit} aria-label="Audit log filters">
      <Field label="Key" error={errors.key_id}>
        {(props) => (
          <select {...props} value={form.key_id ?? ''} onChange={(e) => set({ key_id: e.target.value })}>
            <option value="">All keys</option>
            {keys.map((k) => (
              <option key={k.id} value={k.id}>
                {k.name} ({k.prefix}){k.status === 'revoked' ? ' — revoked' : ''}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Route" error={errors.route} hint="Exact, or a prefix ending in *">
        {(props) => <input {...props} placeholder="a path, or a prefix*" value={form.route ?? ''} onChange={(e) => set({ route: e.target.value })} />}
      </Field>
      <Field label="Status" error={errors.status} hint="429 or 4xx">
        {(props) => <input {...props} size={5} value={form.status ?? ''} onChange={(e) => set({ status: e.target.value })} />}
      </Field>
      <Field label="Source IP" error={errors.source_ip}>
        {(props) => <input {...props} value={form.source_ip ?? ''} onChange={(e) => set({ source_ip: e.target.value })} />}
      </Field>
      <Field label="From" error={errors.from}>
        {(props) => <input {...props} type="datetime-local" value={form.from} onChange={(e) => set({ from: e.target.value })} />}
      </Field>
      <Field label="To" error={errors.to}>
        {(props) => <input {...props} type="datetime-local" value={form.to} onChange={(e) => set({ to: e.target.value })} />}
      </Field>
      <div className="filter-actions">
        <button type="submit" className="primary">
          Apply filters
        </button>
      </div>
    </form>
  );
}
