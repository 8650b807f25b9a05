/*
 * docker rmi and the build cache's removal, after moby's image_delete.go: untagging, the conflict rules (child
 * images and running containers are hard conflicts, references and stopped containers soft ones), the quiet
 * removal of untagged parents, and the release of layer snapshots no other image shares.
 */
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { parseReference, withDefaultTag } from '../../client/reference.ts';
import type { EventLog } from '../events.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import { blobsOfImage } from './blob-releaser.ts';
import type { ImageRecord, ImageStore } from './image-store.ts';
import { shortId } from './progress.ts';

export type DeleteRecord = { Untagged: string } | { Deleted: string };

/** Who uses an image, so rmi can refuse (the container manager answers). */
export type ImageUsers = (imageId: string) => { id: string; running: boolean }[];

interface DeleteConflict {
  /** A container uses the image (moby reports such a conflict even when pruning quietly). */
  used: boolean;
  fault: Fault;
}

export interface ImageDeleterDeps {
  store: ImageStore;
  snapshotter: Snapshotter;
  events: EventLog;
  logger: Logger;
  /** Asked on each delete: the container manager is wired after the image service. */
  users: ImageUsers;
}

export class ImageDeleter {
  #store: ImageStore;
  #snapshotter: Snapshotter;
  #events: EventLog;
  #logger: Logger;
  #users: ImageUsers;

  constructor(deps: ImageDeleterDeps) {
    this.#store = deps.store;
    this.#snapshotter = deps.snapshotter;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#users = deps.users;
  }

  /**
   * docker rmi, after moby's ImageDelete: a name untags (refusing when it would leave a container's image
   * dangling unless forced) and removes the image once nothing references it, quietly; an ID removes every
   * reference when they are one tag of one repository (or forced). The image itself goes only without hard
   * conflicts (child images, a running container); with `prune` its untagged, unused parents follow it. The
   * blobs of every image deleted are added to `freed`.
   */
  async remove(input: string, options: { force?: boolean; prune?: boolean } = {}, freed = new Set<string>()): Promise<DeleteRecord[]> {
    const image = this.#store.resolve(input);
    const force = options.force === true;
    const records: DeleteRecord[] = [];
    let quiet = false;
    if (!isImageIdPrefix(image.id, input)) {
      if (!this.#untagNamed(image.id, input, force, records)) return records;
      quiet = true;
    } else if (isSingleReference(this.#store.references(image.id))) {
      const conflict = this.#conflict(image.id, { soft: force ? 'none' : 'containers' });
      if (conflict) throw conflict.fault;
      for (const ref of this.#store.references(image.id)) this.#untag(image.id, ref, records);
    }
    await this.#deleteHelper(image.id, records, { force, prune: options.prune !== false, quiet, freed });
    return records;
  }

  /** Removes the reference `input` names; true when the image is left without any reference. */
  #untagNamed(id: string, input: string, force: boolean, records: DeleteRecord[]): boolean {
    const key = fullKey(input);
    const refs = this.#store.references(id);
    if (!key || !refs.includes(key)) throw new Fault('not-found', `No such image: ${input}`);
    if (!force && isSingleReference(refs)) this.#refuseIfUsed(id, `unable to remove repository reference "${input}" (must force)`);
    this.#untag(id, key, records);
    // moby: once a repository has no tag left on the image, its digest references go too.
    if (!key.includes('@')) {
      const repository = repositoryOf(key);
      const remaining = this.#store.references(id).filter((r) => repositoryOf(r) === repository);
      if (!remaining.some((r) => !r.includes('@'))) for (const digestRef of remaining) this.#untag(id, digestRef, records);
    }
    return this.#store.references(id).length === 0;
  }

  #untag(id: string, ref: string, records: DeleteRecord[]): void {
    records.push({ Untagged: this.#store.untag(ref) });
    this.#events.emit('image', 'untag', { id, attributes: { name: id } });
  }

  #refuseIfUsed(id: string, what: string): void {
    const user = this.#users(id)[0];
    if (user) {
      throw new Fault('conflict', `conflict: ${what} - container ${shortId(user.id)} is using its referenced image ${shortId(id)}`);
    }
  }

  /**
   * moby's checkImageDeleteConflict, in its order: child images and running containers are hard conflicts;
   * references and stopped containers soft ones, checked unless forced (`containers`: only stopped containers).
   */
  #conflict(id: string, mask: { soft: 'all' | 'containers' | 'none'; children?: boolean }): DeleteConflict | undefined {
    const make = (hard: boolean, used: boolean, message: string): DeleteConflict => ({
      used,
      fault: new Fault('conflict', `conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`),
    });
    if (mask.children !== false && this.#store.children(id).length) return make(true, false, 'image has dependent child images');
    const users = this.#users(id);
    const running = users.find((u) => u.running);
    if (running) return make(true, true, `image is being used by running container ${shortId(running.id)}`);
    if (mask.soft === 'all' && this.#store.references(id).length) return make(false, false, 'image is referenced in multiple repositories');
    if (mask.soft !== 'none' && users.length) return make(false, true, `image is being used by stopped container ${shortId(users[0].id)}`);
    return undefined;
  }

  /**
   * moby's imageDeleteHelper: deletes the image unless a conflict stops it (quietly, when the image is not
   * dangling or a container uses it), then tries its parent the same way, quietly and unforced.
   */
  async #deleteHelper(id: string, records: DeleteRecord[], options: { force: boolean; prune: boolean; quiet: boolean; freed: Set<string> }): Promise<void> {
    // Each turn deletes the image it walks from, so the walk up the parents ends, ring of links or not.
    for (let next: string | undefined = id, first = true; next; first = false) {
      const conflict = this.#conflict(next, { soft: first && options.force ? 'none' : 'all' });
      if (conflict) {
        if ((!first || options.quiet) && (!this.#isDangling(next) || conflict.used)) return;
        throw conflict.fault;
      }
      const image = this.#store.get(next);
      if (!image) return;
      records.push(...(await this.#deleteImage(image, options.freed)));
      next = options.prune && image.parent && this.#store.get(image.parent) ? image.parent : undefined;
    }
  }


  /**
   * Removes an unreferenced image no container uses even when images descend from it (they lose their parent
   * link, keeping their layers): how the build cache is pruned. Its blobs are added to `freed`.
   */
  async forget(id: string, freed = new Set<string>()): Promise<DeleteRecord[]> {
    const image = this.#store.get(id);
    if (!image) throw new Fault('not-found', `No such image: ${id}`);
    if (this.#store.references(id).length) throw new Fault('conflict', `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    const conflict = this.#conflict(id, { soft: 'containers', children: false });
    if (conflict) throw conflict.fault;
    return this.#deleteImage(image, freed);
  }

  #isDangling(id: string): boolean {
    return this.#store.references(id).length === 0 && this.#store.children(id).length === 0;
  }

  async #deleteImage(image: ImageRecord, freed: Set<string>): Promise<DeleteRecord[]> {
    const records: DeleteRecord[] = [];
    for (const ref of this.#store.references(image.id)) records.push({ Untagged: this.#store.untag(ref) });
    this.#store.delete(image.id);
    records.push({ Deleted: image.id });
    this.#events.emit('image', 'delete', { id: image.id, attributes: { name: image.id } });
    for (const digest of blobsOfImage(image)) freed.add(digest);
    // Release the layer snapshots no other image shares, top first; a snapshot with children (another
    // image's or a container's rootfs) refuses and stays. Blobs are the caller's to release (BlobReleaser): the
    // registry and other images may share them.
    const inUse = this.#store.chainIdsInUse();
    for (const layer of [...image.layers].reverse()) {
      if (inUse.has(layer.chainId)) break;
      try {
        await this.#snapshotter.remove(layer.chainId);
        records.push({ Deleted: layer.chainId });
      } catch (err) {
        this.#logger.debug({ err, chainId: layer.chainId }, 'layer snapshot kept');
        break;
      }
    }
    return records;
  }
}

/** moby's isImageIDPrefix: the input is the start of the ID, with or without `sha256:`. */
function isImageIdPrefix(id: string, input: string): boolean {
  return id.startsWith(input) || id.slice(id.indexOf(':') + 1).startsWith(input);
}

/** moby's isSingleReference: at most one tag, and every digest reference in that tag's repository. */
function isSingleReference(refs: string[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const tags = refs.filter((r) => !r.includes('@'));
  if (tags.length > 1) return false;
  const digestRepos = new Set(refs.filter((r) => r.includes('@')).map(repositoryOf));
  return digestRepos.size === 1 && digestRepos.has(repositoryOf(tags[0] ?? refs[0]));
}

/** `docker.io/library/busybox:latest` or `…@sha256:…` -> `docker.io/library/busybox`. */
function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/** The reference-table key `input` names, if it parses as a reference. */
function fullKey(input: string): string | undefined {
  try {
    const ref = withDefaultTag(parseReference(input));
    return `${ref.domain}/${ref.path}${ref.tag && !ref.digest ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  } catch {
    return undefined;
  }
}
