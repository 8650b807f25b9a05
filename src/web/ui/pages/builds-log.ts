import { useEffect, useState } from 'preact/hooks';
import type { BuildState } from '../../api-types.ts';
import { type Api, isAbort } from '../api.ts';
import { useSession } from '../session.tsx';
import { isLive } from './builds-state.tsx';

export interface BuildLog {
  text: string;
  /** The state the log endpoint last reported (`x-build-state`); null before its first answer. */
  state: BuildState | null;
  error: Error | undefined;
}

const pollMs = 1000;

/**
 * Follows a build's log: GET /api/v1/builds/:id/log?offset= every second while the build is queued or running,
 * appending what is new (`x-log-next-offset` is where the next read starts); once the build has finished, reads
 * until nothing is left and stops.
 */
export function useBuildLog(id: string): BuildLog {
  const { api } = useSession();
  const [log, setLog] = useState<BuildLog>({ text: '', state: null, error: undefined });
  useEffect(() => {
    const controller = new AbortController();
    setLog({ text: '', state: null, error: undefined });
    follow(api.abortable(controller.signal), id, controller.signal, (chunk, state) =>
      setLog((previous) => ({ text: previous.text + chunk, state, error: undefined })),
    ).catch((error: unknown) => {
      if (controller.signal.aborted || isAbort(error)) return;
      setLog((previous) => ({ ...previous, error: error instanceof Error ? error : new Error(String(error)) }));
    });
    return () => controller.abort();
  }, [api, id]);
  return log;
}

async function follow(api: Api, id: string, signal: AbortSignal, append: (chunk: string, state: BuildState) => void): Promise<void> {
  // Bytes, decoded as a stream: a chunk may end inside a UTF-8 sequence.
  const decoder = new TextDecoder();
  let offset = 0;
  for (;;) {
    const response = await api.raw(`/builds/${encodeURIComponent(id)}/log`, { offset });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const state = (response.headers.get('x-build-state') ?? 'queued') as BuildState;
    const next = Number(response.headers.get('x-log-next-offset') ?? offset + bytes.length);
    append(decoder.decode(bytes, { stream: isLive(state) || bytes.length > 0 }), state);
    offset = Number.isFinite(next) ? next : offset + bytes.length;
    if (!isLive(state) && bytes.length === 0) return;
    if (isLive(state)) await sleep(pollMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}
