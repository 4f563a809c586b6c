import { useState, type ReactNode } from 'react';
import { Dialog } from './Dialog.tsx';

interface ShownOnceProps {
  title: string;
  /** Why it must be copied now; the field points at it for screen readers. */
  warning: ReactNode;
  label: string;
  value: string;
  /** What the value is called in the status lines ("key", "link"). */
  noun: string;
  /** What closing without copying loses. */
  closeWarning: string;
  doneLabel: string;
  /** Escape or a click outside asks first even after a copy (a secret is worth a second look). */
  askAfterCopy?: boolean;
  children?: ReactNode;
  onClose: () => void;
}

/**
 * A value the server shows only once (a key's secret, an invitation link), with Copy. Closing by accident
 * would lose what nobody can show again, so dismissing asks first.
 */
export function ShownOnceDialog({ title, warning, label, value, noun, closeWarning, doneLabel, askAfterCopy = false, children, onClose }: ShownOnceProps) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const [confirming, setConfirming] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };

  return (
    <Dialog title={title} onDismiss={() => (copied === 'yes' && !askAfterCopy ? onClose() : setConfirming(true))} role="alertdialog">
      <p className="note warning" id="shown-once-warning">
        {warning}
      </p>
      <label htmlFor="shown-once-value">{label}</label>
      <div className="secret-row">
        <input id="shown-once-value" className="secret" readOnly value={value} aria-describedby="shown-once-warning" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="primary" onClick={() => void copy()} data-autofocus>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="hint" role="status" aria-live="polite">
        {copied === 'yes' && `The ${noun} is on your clipboard.`}
        {copied === 'failed' && `Copying is not allowed here: select the ${noun} and copy it yourself.`}
      </p>
      {children}
      {confirming ? (
        <div className="note warning" role="alert">
          <p>{closeWarning}</p>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Keep it open
            </button>
            <button type="button" className="danger" onClick={onClose}>
              Close anyway
            </button>
          </div>
        </div>
      ) : (
        <div className="actions">
          <button type="button" className="primary" onClick={onClose}>
            {doneLabel}
          </button>
        </div>
      )}
    </Dialog>
  );
}
