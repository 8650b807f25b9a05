import type { ContainerManager } from '../containers/container-manager.ts';

/**
 * An image's filesystem as a host directory for the time of `work` (COPY --from reads it): a container of the
 * image, never started, mounted beside itself as withRootfs does, then removed.
 */
export async function withImageRoot<T>(containers: ContainerManager, image: string, work: (root: string) => Promise<T>): Promise<T> {
  const { Id: id } = await containers.create({ Image: image, Cmd: ['/bin/true'], Entrypoint: [''] });
  try {
    return await containers.withRootfs(id, (root) => work(root));
  } finally {
    await containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
  }
}
