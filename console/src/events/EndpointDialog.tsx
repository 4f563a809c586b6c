import { useId, useState, type FormEvent } from 'react';
import { api, fieldOf, messageOf } from '../api/client.ts';
import type { EndpointInput, EventEndpoint, EventEndpointWithSecret } from '../api/types.ts';
import { useConsoleSession } from '../session/session.ts';
import { Dialog } from '../ui/Dialog.tsx';
import { Field, FormErrors } from '../ui/Field.tsx';
import { ALL_EVENTS, EVENT_GROUPS } from './event-types.ts';

interface Draft {
  url: string;
  all: boolean;
  events: string[];
  description: string;
}

function draftOf(endpoint: EventEndpoint | undefined): Draft {
  if (!endpoint) return { url: '', all: true, events: [], description: '' };
  const all = endpoint.events.includes(ALL_EVENTS);
  return { url: endpoint.url, all, events: all ? [] : endpoint.events, description: endpoint.description ?? '' };
}

/**
 * "Add endpoint" (the answer holds the signing secret, shown next, once) and "Edit" on an endpoint's page:
 * the URL, the events it wants (all of them, including types added later, or some), a description.
 */
export function EndpointDialog(
  props: { endpoint?: undefined; onCreated: (endpoint: EventEndpointWithSecret) => void; onCancel: () => void } | { endpoint: EventEndpoint; onSaved: () => void; onCancel: () => void },
) {
  const { workspace } = useConsoleSession();
  const [draft, setDraft] = useState(() => draftOf(props.endpoint));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const eventsHint = useId();

  // An edit clears the API's last messages: they were about what was sent, not what is typed now.
  const edit = (patch: Partial<Draft>) => {
    setDraft({ ...draft, ...patch });
    setErrors({});
  };
  const toggle = (type: string, on: boolean) => edit({ events: on ? [...draft.events, type] : draft.events.filter((t) => t !== type) });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!draft.all && draft.events.length === 0) {
      setErrors({ events: 'Choose at least one event, or All events.' });
      return;
    }
    const body: EndpointInput = { url: draft.url.trim(), events: draft.all ? [ALL_EVENTS] : draft.events, description: draft.description.trim() || null };
    setBusy(true);
    setErrors({});
    setFormError('');
    try {
      if (props.endpoint) {
        await api.updateEndpoint(workspace.id, props.endpoint.id, body);
        props.onSaved();
      } else {
        // A new endpoint has no description to clear: null is left out rather than sent.
        props.onCreated(await api.createEndpoint(workspace.id, { ...body, description: body.description ?? undefined }));
      }
    } catch (caught) {
      const field = fieldOf(caught);
      if (field) setErrors({ [field]: messageOf(caught) });
      else setFormError(messageOf(caught));
      setBusy(false);
    }
  };

  return (
    <Dialog title={props.endpoint ? 'Edit endpoint' : 'Add endpoint'} onDismiss={props.onCancel} wide>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Endpoint URL" error={errors.url} hint="Latchkey POSTs each event here as JSON, signed in the Latchkey-Signature header. Use https.">
          {(field) => (
            <input {...field} type="url" inputMode="url" autoComplete="off" placeholder="https://example.com/webhooks/latchkey" value={draft.url} onChange={(e) => edit({ url: e.target.value })} data-autofocus />
          )}
        </Field>
        <fieldset className={errors.events ? 'invalid' : undefined} aria-describedby={eventsHint}>
          <legend>Events</legend>
          <label className="check">
            <input type="checkbox" checked={draft.all} onChange={(e) => edit({ all: e.target.checked })} />
            <span>
              All events
              <span className="allows">Every type, including types Latchkey adds later.</span>
            </span>
          </label>
          <div className="scope-groups">
            {EVENT_GROUPS.map((group) => (
              <div key={group.group} role="group" aria-label={group.group}>
                <p className="scope-group-title">{group.group}</p>
                {group.types.map((t) => (
                  <label key={t.type} className="check">
                    <input type="checkbox" disabled={draft.all} checked={draft.all || draft.events.includes(t.type)} onChange={(e) => toggle(t.type, e.target.checked)} />
                    <span>
                      <code>{t.type}</code>
                      <span className="allows">{t.description}</span>
                    </span>
                  </label>
                ))}
              </div>
            ))}
          </div>
          <p className="hint" id={eventsHint}>
            A test event can be sent to any endpoint, whatever it subscribes to.
          </p>
          {errors.events && <p className="field-error">{errors.events}</p>}
        </fieldset>
        <Field label="Description (optional)" error={errors.description}>
          {(field) => <input {...field} maxLength={500} value={draft.description} onChange={(e) => edit({ description: e.target.value })} />}
        </Field>
        <FormErrors formError={formError} errors={errors} />
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : props.endpoint ? 'Save changes' : 'Add endpoint'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
