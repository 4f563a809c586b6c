import type { ScopeInfo } from '../api/types.ts';
import { Field } from '../ui/Field.tsx';
import type { KeyDraft } from './draft.ts';
import { ScopePicker } from './ScopePicker.tsx';

/** The settings of a key, for creating one (with its mode) and for editing one (mode is fixed). */
export function KeyFields({
  draft,
  onChange,
  groups,
  errors,
  withMode,
}: {
  draft: KeyDraft;
  onChange: (draft: KeyDraft) => void;
  groups: Array<[string, ScopeInfo[]]>;
  errors: Record<string, string>;
  withMode: boolean;
}) {
  const set = (patch: Partial<KeyDraft>) => onChange({ ...draft, ...patch });
  return (
    <>
      <Field label="Name" error={errors.name} hint="What it is for, e.g. data-warehouse-export. It shows in the audit log.">
        {(props) => <input {...props} data-autofocus maxLength={100} value={draft.name} onChange={(e) => set({ name: e.target.value })} />}
      </Field>
      {withMode && (
        <fieldset className="modes">
          <legend>Mode</legend>
          <label className="check">
            <input type="radio" name="mode" checked={draft.mode === 'live'} onChange={() => set({ mode: 'live' })} /> Live — your workspace's real data
          </label>
          <label className="check">
            <input type="radio" name="mode" checked={draft.mode === 'test'} onChange={() => set({ mode: 'test' })} /> Test — a test view, for CI and staging
          </label>
        </fieldset>
      )}
      <ScopePicker groups={groups} selected={draft.scopes} onChange={(scopes) => set({ scopes })} error={errors.scopes} />
      <div className="row">
        <Field label="Requests per minute" error={errors['rate_limit.per_minute'] ?? errors.rate_limit} hint="Default 60.">
          {(props) => <input {...props} type="number" min={1} inputMode="numeric" value={draft.perMinute} onChange={(e) => set({ perMinute: e.target.value })} />}
        </Field>
        <Field label="Requests per hour (optional)" error={errors['rate_limit.per_hour']}>
          {(props) => <input {...props} type="number" min={1} inputMode="numeric" value={draft.perHour} onChange={(e) => set({ perHour: e.target.value })} />}
        </Field>
      </div>
      <Field
        label="Expires (optional)"
        error={errors.expires_at}
        hint="After this time (yours) every secret of the key is refused with api_key_expired. Empty: never."
      >
        {(props) => <input {...props} type="datetime-local" value={draft.expiresAt} onChange={(e) => set({ expiresAt: e.target.value })} />}
      </Field>
      <Field label="IP allowlist (optional)" error={errors.ip_allowlist} hint="One IP address or CIDR range per line. Empty: any source IP.">
        {(props) => (
          <textarea {...props} rows={3} spellCheck={false} placeholder={'203.0.113.7\n198.51.100.0/24'} value={draft.allowlist} onChange={(e) => set({ allowlist: e.target.value })} />
        )}
      </Field>
      <Field
        label="Metadata (optional)"
        error={errors.meta}
        hint="A JSON object of up to 4 KB, e.g. your customer's id. Verify returns it; it is not a secret store."
      >
        {(props) => (
          <textarea {...props} className="code" rows={Math.min(10, Math.max(3, draft.meta.split('\n').length))} spellCheck={false} placeholder={'{"customer_id": "cus_42"}'} value={draft.meta} onChange={(e) => set({ meta: e.target.value })} />
        )}
      </Field>
    </>
  );
}
