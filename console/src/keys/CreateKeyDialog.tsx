import { useState, type FormEvent } from 'react';
import { api, fieldOf, messageOf } from '../api/client.ts';
import type { ApiKeyWithSecret } from '../api/types.ts';
import { useSession } from '../session/session.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { ErrorNote, Loading } from '../ui/States.tsx';
import { inputOf, NEW_KEY } from './draft.ts';
import { KeyFields } from './KeyFields.tsx';
import { FormErrors } from '../ui/Field.tsx';
import { useScopes } from './useScopes.ts';

/** "+ New API key": the form; the API's validation messages appear under the field they are about. */
export function CreateKeyDialog({ onCreated, onCancel }: { onCreated: (key: ApiKeyWithSecret) => void; onCancel: () => void }) {
  const { workspace } = useSession();
  const [scopes, reloadScopes] = useScopes();
  const [draft, setDraft] = useState(NEW_KEY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
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
    setFormError('');
    try {
      onCreated(await api.createKey(workspace.id, { ...inputOf(draft, NEW_KEY), mode: draft.mode }));
    } catch (caught) {
      const field = fieldOf(caught);
      if (field) setErrors({ [field]: messageOf(caught) });
      else setFormError(messageOf(caught));
      setBusy(false);
    }
  };

  return (
    <Dialog title="New API key" onDismiss={onCancel} wide>
      {scopes.state === 'loading' && <Loading what="Loading scopes" />}
      {scopes.state === 'error' && <ErrorNote message={scopes.message} onRetry={reloadScopes} />}
      {scopes.state === 'ready' && (
        <form onSubmit={(event) => void submit(event)} noValidate>
          <KeyFields draft={draft} onChange={edit} groups={scopes.data} errors={errors} withMode />
          <FormErrors formError={formError} errors={errors} />
          <div className="actions">
            <button type="button" className="secondary" onClick={onCancel}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Creating…' : 'Create'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
