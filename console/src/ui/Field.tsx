import { useId, type ReactNode } from 'react';

/** A labelled form field with its hint and its error, both tied to the control for screen readers. */
export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: string;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ReactNode;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': described })}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * A form's errors at its foot: the one that concerns the whole form, shown, and every field's error read
 * out at once to screen readers (each is also shown beside its field).
 */
export function FormErrors({ formError, errors }: { formError: string | null | undefined; errors: Record<string, string | undefined> }) {
  const fieldErrors = Object.values(errors).filter(Boolean);
  return (
    <>
      {formError && (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      {fieldErrors.length > 0 && (
        <p className="sr-only" role="alert">
          {fieldErrors.join(' ')}
        </p>
      )}
    </>
  );
}
