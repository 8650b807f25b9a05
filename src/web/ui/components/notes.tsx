import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.ts';

/** An error of a request, announced (role alert). */
export function ErrorNote(props: { error: Error; what?: string }) {
  const code = props.error instanceof ApiError ? ` (${props.error.code})` : '';
  return (
    <p class="note error" role="alert">
      {props.what ? `${props.what}: ` : ''}
      {props.error.message}
      {code}
    </p>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="note" role="status">
      Loading {props.what}…
    </p>
  );
}

/** A wide table in a region that scrolls sideways on narrow screens (focusable, so keyboards can scroll it). */
export function TableRegion(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-region" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}
