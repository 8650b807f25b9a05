/** Media types of the OCI image spec and Docker's image manifest v2 schema 2, each written once. */
export const mediaTypes = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** Schema 1 (signed JWS): refused on push, named so the refusal can say why. */
  dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** An uncompressed schema 2 layer (distribution's MediaTypeUncompressedLayer): a v1 layer pushed as a plain tar. */
  dockerLayerUncompressed: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerEncrypted: 'application/vnd.oci.image.layer.v1.tar+encrypted',
  ociLayerGzipEncrypted: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',
  ociLayerZstdEncrypted: 'application/vnd.oci.image.layer.v1.tar+zstd+encrypted',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  /** The empty descriptor's type: a config of `{}` for artifacts that carry no config (image-spec 1.1). */
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export type ManifestMediaType =
  | typeof mediaTypes.ociManifest
  | typeof mediaTypes.ociIndex
  | typeof mediaTypes.dockerManifest
  | typeof mediaTypes.dockerManifestList;

export const manifestMediaTypes: readonly string[] = [
  mediaTypes.ociManifest,
  mediaTypes.ociIndex,
  mediaTypes.dockerManifest,
  mediaTypes.dockerManifestList,
];

export const indexMediaTypes: readonly string[] = [mediaTypes.ociIndex, mediaTypes.dockerManifestList];

export const configMediaTypes: readonly string[] = [mediaTypes.ociConfig, mediaTypes.dockerConfig];

/** Layer types a container runtime can unpack (plain, gzip, zstd), OCI and Docker. */
export const layerMediaTypes: readonly string[] = [
  mediaTypes.ociLayer,
  mediaTypes.ociLayerGzip,
  mediaTypes.ociLayerZstd,
  mediaTypes.ociLayerNondistributable,
  mediaTypes.ociLayerNondistributableGzip,
  mediaTypes.ociLayerNondistributableZstd,
  mediaTypes.dockerLayer,
  mediaTypes.dockerLayerUncompressed,
  mediaTypes.dockerForeignLayer,
];

/** Encrypted layer types (ocicrypt) that the registry stores opaquely, advertised in X-Docker-Encrypt. */
export const encryptedLayerMediaTypes: readonly string[] = [
  mediaTypes.ociLayerEncrypted,
  mediaTypes.ociLayerGzipEncrypted,
  mediaTypes.ociLayerZstdEncrypted,
];

export function isManifestMediaType(type: string): type is ManifestMediaType {
  return manifestMediaTypes.includes(type);
}

export function isIndexMediaType(type: string): boolean {
  return indexMediaTypes.includes(type);
}

export function isLayerMediaType(type: string): boolean {
  return layerMediaTypes.includes(type) || encryptedLayerMediaTypes.includes(type);
}

export function isEncryptedLayerMediaType(type: string): boolean {
  return encryptedLayerMediaTypes.includes(type);
}

/** Docker-only manifest types, which distribution never withholds from a client that does not list them. */
export function isDockerManifestMediaType(type: string): boolean {
  return type === mediaTypes.dockerManifest || type === mediaTypes.dockerManifestList;
}

// RFC 6838 §4.2: type "/" subtype, restricted-name characters, at most 127 each.
const mediaTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** Whether `type` is a well-formed media type (no parameters), as descriptors must carry. */
export function isWellFormedMediaType(type: string): boolean {
  return mediaTypePattern.test(type);
}

/** The bare media type of a Content-Type or Accept entry: parameters dropped, lower-cased, trimmed. */
export function bareMediaType(value: string): string {
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/** The OCI empty descriptor's content: `{}`. */
export const emptyJsonDigest = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
export const emptyJsonSize = 2;
