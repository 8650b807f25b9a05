import { Fault } from '../../base/fault.ts';
import { validateName } from './container-spec.ts';
import type { DaemonContext } from './daemon-context.ts';

/** moby daemon/rename.go: the new name is reserved first, the old one released once the record is saved. */
export function rename(ctx: DaemonContext, input: string, newName: string): void {
  const { store } = ctx.deps;
  const record = store.resolve(input);
  const bare = newName.replace(/^\//, '');
  if (!bare) throw new Fault('invalid-argument', 'Neither old nor new names may be empty');
  validateName(bare);
  if (record.name === `/${bare}`) throw new Fault('invalid-argument', 'Renaming a container with the same name as its current name');
  const oldName = record.name;
  store.reserveName(`/${bare}`, record.id);
  try {
    record.name = `/${bare}`;
    store.save(record);
  } catch (err) {
    record.name = oldName;
    store.releaseName(`/${bare}`, record.id);
    throw err;
  }
  store.releaseName(oldName, record.id);
  ctx.event(record, 'rename', { oldName });
}
