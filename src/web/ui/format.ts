/** Display formatting for the UI, pure (no DOM) so node:test covers it. */

const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal units as `docker images` shows them: 0 B, 999 B, 1.5 KB, 12 MB, 1.23 GB. */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${units[unit]}`;
}

/** `sha256:0123456789ab` (the algorithm and 12 hex digits, as docker shows IDs). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest.slice(0, 12) : `${digest.slice(0, colon)}:${digest.slice(colon + 1, colon + 13)}`;
}

/** `2026-12-05 14:03 UTC`; the input unchanged when it is not a date. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How long ago, coarse: `just now`, `5 minutes ago`, `3 days ago`, `2 years ago`. */
export function timeAgo(iso: string, now: number): string {
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 45) return 'just now';
  const steps: [number, string][] = [[60, 'minute'], [3600, 'hour'], [86400, 'day'], [86400 * 30, 'month'], [86400 * 365, 'year']];
  let chosen = steps[0];
  for (const step of steps) if (seconds >= step[0] * 0.9) chosen = step;
  const count = Math.max(1, Math.round(seconds / chosen[0]));
  return `${count} ${chosen[1]}${count === 1 ? '' : 's'} ago`;
}

/** The command `docker pull` takes for a tag on this registry. */
export function pullCommand(host: string, repository: string, tag: string): string {
  return `docker pull ${host}/${repository}:${tag}`;
}

/** An image history's `created_by`, without the `/bin/sh -c #(nop) ` prefix docker build writes. */
export function historyCommand(createdBy: string | undefined): string {
  if (!createdBy) return '';
  return createdBy.replace(/^\/bin\/sh -c #\(nop\)\s*/, '').replace(/^\/bin\/sh -c /, 'RUN ');
}
