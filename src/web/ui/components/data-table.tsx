import type { ComponentChildren } from 'preact';
import { TableRegion } from './notes.tsx';

interface DataTableProps {
  /** Names the scrolling region the table sits in. */
  label: string;
  /** The column heads, in order; `false` leaves a column out (one the caller may not use). */
  columns: (string | false)[];
  /** The table's class (its own styles). */
  class?: string;
  /** A caption for screen readers (hidden). */
  caption?: ComponentChildren;
  /** The rows (`<tr>`s). */
  children: ComponentChildren;
  /** A `<tfoot>` (totals), when the table has one. */
  foot?: ComponentChildren;
  /** Announces changed rows: for a table that refreshes itself. */
  live?: boolean;
}

/** A table of rows under column heads, in a region that scrolls sideways on narrow screens. */
export function DataTable(props: DataTableProps) {
  return (
    <TableRegion label={props.label}>
      <table class={props.class}>
        {props.caption && <caption class="visually-hidden">{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.filter((column) => column !== false).map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody aria-live={props.live ? 'polite' : undefined}>{props.children}</tbody>
        {props.foot}
      </table>
    </TableRegion>
  );
}
