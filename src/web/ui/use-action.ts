import { useState } from 'preact/hooks';

export interface Action {
  /** Why the latest run failed; null while none has, or once the next one starts. */
  error: Error | null;
  /** Runs what the user asked for (a form sent, a button pressed); a failure lands in `error`, never thrown. */
  run(action: () => Promise<void>): Promise<void>;
}

/** A write the user starts, with its error kept to be shown (the API's message, in an alert: ErrorNote). */
export function useAction(): Action {
  const [error, setError] = useState<Error | null>(null);
  const run = async (action: () => Promise<void>) => {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return { error, run };
}
