/**
 * A volume driver (moby volume/volume.go Driver): it owns where a volume's data lives. The volume service above it
 * keeps the records (labels, options, anonymous flag) and decides when a volume is made or removed; a driver only
 * makes, removes, finds and measures the data directories.
 */
export interface VolumeDriver {
  /** The name `docker volume ls` shows in its DRIVER column. */
  readonly name: string;
  /** Makes volume `name`'s data directory (idempotent: an existing one is kept as is). */
  create(name: string, options: Record<string, string>): Promise<void>;
  /** Makes the data visible at `path(name)` for its first user (a no-op for a plain directory). */
  mount(name: string, options: Record<string, string>): Promise<void>;
  /** Undoes `mount` after the last user; unmounting what is not mounted is not an error. */
  unmount(name: string, options: Record<string, string>): Promise<void>;
  /** Removes the volume's data; removing a missing volume is not an error. */
  remove(name: string): Promise<void>;
  /** The host directory a container binds (moby's Mountpoint). */
  path(name: string): string;
  /** The names of the volumes that have data under this driver. */
  list(): Promise<string[]>;
  /** Bytes used by the volume's data (`docker system df -v`); -1 when unknown. */
  size(name: string): Promise<number>;
}
