/**
 * A mount a container has, resolved at create and kept in its record (moby's volume/mounts.MountPoint, in the
 * shape `docker inspect` shows). A volume's Source is its data directory.
 */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** The volume's name (volumes only). */
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** A tmpfs's mount options (`--mount type=tmpfs,tmpfs-size=…`). */
  TmpfsOptions?: string[];
  /** A `-v` bind whose missing source is created at start, as moby does. */
  CreateSource?: boolean;
}
