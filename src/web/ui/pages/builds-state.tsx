import type { BuildState } from '../../api-types.ts';

const stateText: Record<BuildState, string> = { queued: 'queued', running: 'running', succeeded: 'succeeded', failed: 'failed' };

/** Whether a build may still change (its page and lists keep polling). */
export function isLive(state: BuildState): boolean {
  return state === 'queued' || state === 'running';
}

/** A build's state as a badge: the word is always there, the colour only repeats it. */
export function BuildBadge({ state }: { state: BuildState }) {
  return <span class={`badge badge-${state}`}>{stateText[state] ?? state}</span>;
}
