import { useState } from 'preact/hooks';
import { ErrorNote } from '../components/notes.tsx';
import { safeNext } from '../route-match.ts';
import { type PageProps, useRouter } from '../router.tsx';
import { useSession } from '../session.tsx';

export function SignInPage(props: PageProps) {
  const { info, signIn } = useSession();
  const { navigate } = useRouter();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      await signIn(String(form.get('username') ?? ''), String(form.get('password') ?? ''));
      navigate(safeNext(props.query.get('next')), { replace: true });
    } catch (failure) {
      setError(failure as Error);
      setBusy(false);
    }
  };
  return (
    <section class="narrow">
      <h1 tabIndex={-1}>Sign in</h1>
      {info?.authMode === 'none' && <p class="note">This registry runs without authentication: everyone may browse and push.</p>}
      {info?.user && <p class="note">You are signed in as {info.user.name}.</p>}
      <form class="stack" onSubmit={submit}>
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck={false} required />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        {error && <ErrorNote error={error} what="Could not sign in" />}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </section>
  );
}
