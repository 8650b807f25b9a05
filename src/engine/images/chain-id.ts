import { digestOf } from '../../oci/digest.ts';

/**
 * OCI image-spec chainIDs: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 * A committed snapshot is named by its chainID, so identical layer stacks are unpacked once and shared.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    out.push(out.length === 0 ? diffId : digestOf(`${out[out.length - 1]} ${diffId}`));
  }
  return out;
}
