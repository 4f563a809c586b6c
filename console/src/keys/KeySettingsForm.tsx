import { useState, type FormEvent } from 'react';
import { api, fieldOf, messageOf } from '../api/client.ts';
import type { ApiKey } from '../api/types.ts';
import { useSession } from '../session/session.ts';
import { ErrorNote, Loading } from '../ui/States.tsx';
import { draftOf, inputOf } from './draft.ts';
import { KeyFields } from './KeyFields.tsx';
import { useScopes } from './useScopes.ts';

/** A key's editable settings; changes apply from the key's next request. */
export function KeySettingsForm({ apiKey, onSaved }: { apiKey: ApiKey; onSaved: (key: ApiKey) => void }) {
  const { workspace } = useSession();
  const [scopes, reloadScopes] = useScopes();
  const [draft, setDraft] = useState(() => draftOf(apiKey));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  // An edit clears the API's last messages: they were about what was sent, not what is typed now.
  const edit = (next: typeof draft) => {
    setDraft(next);
    setErrors({});
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage(null);
    try {
      const saved = await api.updateKey(workspace.id, apiKey.id, inputOf(draft, draftOf(apiKey)));
      onSaved(saved);
      setDraft(draftOf(saved));
      setMessage({ kind: 'ok', text: 'Saved. The new settings apply from the key’s next request.' });
    } catch (caught) {
      const field = fieldOf(caught);
      if (field) setErrors({ [field]: messageOf(caught) });
      setMessage({ kind: 'error', text: messageOf(caught) });
    } finally {
      setBusy(false);
    }
  };

  if (scopes.state === 'loading') return <Loading what="Loading scopes" />;
  if (scopes.state === 'error') return <ErrorNote message={scopes.message} onRetry={reloadScopes} />;
  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="settings-form">
      <KeyFields draft={draft} onChange={edit} groups={scopes.data} errors={errors} withMode={false} />
      <div className="actions start">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
        {message && (
          <p className={message.kind === 'ok' ? 'success-text' : 'field-error'} role={message.kind === 'ok' ? 'status' : 'alert'}>
            {message.text}
          </p>
        )}
      </div>
    </form>
  );
}
