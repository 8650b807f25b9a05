import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

/**
 * A labelled form control. The label is tied by `for`/`id`, not by wrapping: a wrapping label would put the
 * control's own value (a select's option, typed text) into its accessible name.
 */
export function Field(props: { label: string; children: (id: string) => ComponentChildren }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id)}
    </div>
  );
}
