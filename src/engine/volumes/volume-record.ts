/** What the engine keeps about a volume (moby's volume metadata), beside the driver's data. */
export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  createdAt: string;
  /** Made for a container (`-v /path`, an image VOLUME): `rm -v`, `--rm` and a plain prune remove it. */
  anonymous: boolean;
  /**
   * An anonymous volume made for a container whose record may not be saved yet: a restart removes it unless a
   * container names it (a crash between the two leaves no half-made volume visible). Cleared once it is saved.
   */
  pendingFor?: string;
}
