import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A modal dialog on the native <dialog> (focus kept inside, the page behind inert). Escape and a click on
 * the backdrop call `onDismiss`; a dialog that must not be lost by accident passes one that asks first.
 * Focus returns to where it was when the dialog closes.
 */
export function Dialog({
  title,
  onDismiss,
  children,
  wide,
  role = 'dialog',
}: {
  title: string;
  onDismiss: () => void;
  children: ReactNode;
  wide?: boolean;
  role?: 'dialog' | 'alertdialog';
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const dismiss = useRef(onDismiss);
  dismiss.current = onDismiss;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    const autofocus = dialog.querySelector<HTMLElement>('[data-autofocus]');
    (autofocus ?? dialog.querySelector<HTMLElement>('h2'))?.focus();
    const onCancel = (event: Event) => {
      event.preventDefault();
      dismiss.current();
    };
    // Browsers may close a modal dialog on a repeated Escape even though `cancel` was prevented (close
    // watchers); while the component is mounted, it stays open and the dismissal goes through `onDismiss`.
    let unmounting = false;
    const onClose = () => {
      if (unmounting) return;
      dialog.showModal();
      dismiss.current();
    };
    dialog.addEventListener('cancel', onCancel);
    dialog.addEventListener('close', onClose);
    return () => {
      unmounting = true;
      dialog.removeEventListener('cancel', onCancel);
      dialog.removeEventListener('close', onClose);
      dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      role={role}
      aria-modal="true"
      aria-labelledby={titleId}
      className={wide ? 'dialog wide' : 'dialog'}
      onClick={(event) => {
        if (event.target === ref.current) dismiss.current();
      }}
    >
      <div className="dialog-body">
        <h2 id={titleId} tabIndex={-1}>
          {title}
        </h2>
        {children}
      </div>
    </dialog>
  );
}
