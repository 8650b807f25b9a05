import type { V1ImageRecord } from './v1-store.ts';

/** A v1_images row as either engine returns it: column name -> value. */
type Row = Record<string, unknown>;

export function toV1Image(row: Row): V1ImageRecord {
  const checksum = row.checksum as string | null;
  // Rows written before the checksums column hold only the one checksum.
  const checksums = row.checksums ? (row.checksums as string).split(' ') : checksum ? [checksum] : [];
  return {
    id: row.id as string,
    json: row.json as string,
    checksums,
    complete: row.complete === 1,
    createdAt: row.created_at as string,
    ...(row.parent ? { parent: row.parent as string } : {}),
    ...(row.layer_digest ? { layerDigest: row.layer_digest as string } : {}),
    ...(row.layer_size !== null ? { layerSize: row.layer_size as number } : {}),
    ...(row.diff_id ? { diffId: row.diff_id as string } : {}),
    ...(checksum ? { checksum } : {}),
  };
}
