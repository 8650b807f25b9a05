import { Fault } from '../../base/fault.ts';

/** moby volume/local: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (so no `/`, no `..`, at least two characters). */
export const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateVolumeName(name: string): void {
  if (!volumeNamePattern.test(name)) {
    throw new Fault(
      'invalid-argument',
      `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}
