import { useState, type FormEvent } from 'react';
import { fieldOf, messageOf } from '../api/client.ts';

/**
 * A form that sends one request: busy while it runs, and the API's refusal kept with the field it names
 * (`errorFor(field)`) or, when it names none, as `formError`.
 */
export function useSubmit(send: () => Promise<void>) {
  const [error, setError] = useState<{ message: string; field?: string | undefined } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await send();
    } catch (caught) {
      setError({ message: messageOf(caught), field: fieldOf(caught) });
    }
    // A form that stays on screen (invite someone) is ready for the next one; React ignores this for one that left.
    setBusy(false);
  };
  return {
    busy,
    onSubmit: (event: FormEvent) => void submit(event),
    errorFor: (field: string) => (error?.field === field ? error.message : undefined),
    formError: error && !error.field ? error.message : undefined,
  };
}
