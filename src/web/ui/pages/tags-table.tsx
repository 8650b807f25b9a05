import { useState } from 'preact/hooks';
import type { TagList, TagRow } from '../../api-types.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote } from '../components/notes.tsx';
import { formatTime, humanSize, pullCommand, shortDigest } from '../format.ts';
import { buildPath } from '../route-match.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

interface TagsTableProps {
  list: TagList;
  /** After a delete: the list is loaded again. */
  onChanged(): void;
}

/** A repository's tags, one row each, with the pull command to copy and "Delete" for callers who may delete. */
export function TagsTable(props: TagsTableProps) {
  const { api } = useSession();
  const { repository, tags } = props.list;
  const mayDelete = props.list.actions.includes('delete');
  const [pending, setPending] = useState<TagRow | null>(null);
  const [outcome, setOutcome] = useState<{ done?: string; error?: Error }>({});
  const remove = async (tag: TagRow) => {
    setPending(null);
    try {
      await api.send<void>('DELETE', '/tags', undefined, { repository, tag: tag.name });
      setOutcome({ done: `Deleted the tag ${tag.name}.` });
      props.onChanged();
    } catch (error) {
      setOutcome({ error: error as Error });
    }
  };
  if (tags.length === 0) return <p class="note">{outcome.done ?? 'No tags yet.'}</p>;
  return (
    <>
      <p class="note success" role="status">
        {outcome.done ?? ''}
      </p>
      {outcome.error && <ErrorNote error={outcome.error} what="Could not delete" />}
      <DataTable label="Tags" class="tags" caption={`Tags of ${repository}`} columns={['Tag', 'Digest', 'Size', 'Created', 'Platforms', 'Pull', mayDelete && 'Delete']}>
        {tags.map((tag) => (
          <TagTableRow key={tag.name} repository={repository} tag={tag} mayDelete={mayDelete} onDelete={() => setPending(tag)} />
        ))}
      </DataTable>
      {pending && (
        <ConfirmDialog
          title={`Delete the tag ${pending.name}?`}
          message={`${repository}:${pending.name} will no longer be pullable by this tag. Other tags of the same image stay.`}
          confirmLabel="Delete"
          onConfirm={() => remove(pending)}
          onCancel={() => setPending(null)}
        />
      )}
    </>
  );
}

interface TagTableRowProps {
  repository: string;
  tag: TagRow;
  mayDelete: boolean;
  onDelete(): void;
}

function TagTableRow(props: TagTableRowProps) {
  const { tag } = props;
  return (
    <tr>
      <th scope="row">
        <Link href={buildPath('/ui/r/:name+/-/manifest/:reference', { name: props.repository, reference: tag.name })}>{tag.name}</Link>
      </th>
      <td data-label="Digest">
        <code title={tag.digest}>{shortDigest(tag.digest)}</code>
      </td>
      <td class="num" data-label="Size">
        {tag.partial ? <span title="at least: not every child of this index was read">≥ {humanSize(tag.size)}</span> : humanSize(tag.size)}
      </td>
      <td data-label="Created">
        <time dateTime={tag.created}>{formatTime(tag.created)}</time>
      </td>
      <td data-label="Platforms">{tag.platforms.length ? tag.platforms.join(', ') : '—'}</td>
      <td class="action">
        <CopyButton text={pullCommand(window.location.host, props.repository, tag.name)} caption="Copy docker pull" label={`Copy docker pull command for ${tag.name}`} />
      </td>
      {props.mayDelete && (
        <td class="action">
          <button type="button" class="small danger" onClick={props.onDelete} aria-label={`Delete tag ${tag.name}`}>
            Delete
          </button>
        </td>
      )}
    </tr>
  );
}
