import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { CopyButton } from '../components/copy-button.tsx';
import { ErrorNote } from '../components/notes.tsx';
import { Field } from './admin-field.tsx';

/**
 * A modal `<dialog>`: the browser keeps focus inside it, Escape closes it, and focus goes back to what opened it.
 */
function Modal(props: { title: string; onClose(): void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    ref.current?.showModal();
    return () => opener?.focus();
  }, []);
  return (
    <dialog ref={ref} class="confirm" aria-labelledby={titleId} onCancel={(event) => (event.preventDefault(), props.onClose())}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** Shows a secret the server hands out once, with a copy button and the warning that it is never shown again. */
export function SecretDialog(props: { title: string; secret: string; onClose(): void; children?: ComponentChildren }) {
  const secretId = useId();
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <p class="note warning" role="alert">
        Copy this secret now: it is shown only this once (wharf keeps only its hash).
      </p>
      {props.children}
      <label for={secretId}>
        Secret
      </label>
      <p class="secret-line">
        <input id={secretId} class="secret" readOnly value={props.secret} onFocus={(event) => event.currentTarget.select()} />
        <CopyButton text={props.secret} label="Copy the secret" />
      </p>
      <div class="actions">
        <button type="button" autofocus onClick={props.onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}

/** Asks for a new password for `user`; `onSubmit` sets it (its error is shown in the dialog). */
export function PasswordDialog(props: { user: string; onSubmit(password: string): Promise<void>; onClose(): void }) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget as HTMLFormElement).get('password'));
    setBusy(true);
    try {
      await props.onSubmit(password);
      props.onClose();
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };
  return (
    <Modal title={`Reset the password of ${props.user}`} onClose={props.onClose}>
      <form method="dialog" onSubmit={submit}>
        <p>Their sessions end and the old password stops working at once.</p>
        <Field label="New password">
          {(id) => <input id={id} name="password" type="password" required minLength={6} autocomplete="new-password" autofocus />}
        </Field>
        {error && <ErrorNote error={error} />}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Set password
          </button>
        </div>
      </form>
    </Modal>
  );
}
