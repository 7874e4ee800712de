/**
 * The contract of the OCI layer. Everything above src/oci (signing, verification,
 * promotion, commands) programs against these types, never against a concrete store.
 */
import type { Readable } from 'node:stream';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  sigstoreBundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;

/** Every manifest media type vouch asks for (registries 404 on `*\/*`). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
];

export const ANNOTATION = {
  refName: 'org.opencontainers.image.ref.name',
  title: 'org.opencontainers.image.title',
  created: 'org.opencontainers.image.created',
  bundleContent: 'dev.sigstore.bundle.content',
  bundlePredicateType: 'dev.sigstore.bundle.predicateType',
} as const;

/** The empty JSON blob `{}` used as config of artifact manifests. */
export const EMPTY_JSON = {
  mediaType: MediaType.ociEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

/**
 * A parsed reference. `registry` references name a repository on a registry host;
 * `layout` references name an OCI image layout directory (`oci:PATH[:TAG|@DIGEST]`).
 */
export type Reference = RegistryReference | LayoutReference;

export interface RegistryReference {
  kind: 'registry';
  /** Canonical host[:port], e.g. `docker.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  registry: string;
  /** e.g. `library/alpine`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface LayoutReference {
  kind: 'layout';
  /** Absolute path of the layout directory. */
  path: string;
  tag?: string;
  digest?: string;
}

/** A manifest fetched from a store: its exact bytes, already re-hashed against the digest. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: Manifest;
}

/**
 * One repository of a registry, or one OCI image layout. Every read is verified: manifests
 * and blobs are re-hashed and compared with the digest asked for (a mismatch is an I/O
 * error, exit 3), and sizes are capped.
 */
export interface Store {
  /** The repository or layout this store reads and writes (tag and digest are not part of it). */
  readonly location: Reference;
  /** Human form, e.g. `127.0.0.1:5000/demo/app` or `oci:/tmp/lay`. */
  readonly name: string;

  /** Resolves a tag or digest to the manifest's descriptor (by digest: verified). */
  resolve(reference: string): Promise<Descriptor>;
  /** Fetches a manifest by tag, digest or descriptor; verifies digest and size. */
  fetchManifest(reference: string | Descriptor): Promise<FetchedManifest>;
  /** True when a manifest with this digest exists. */
  hasManifest(digest: string): Promise<boolean>;
  /**
   * Stores manifest bytes unchanged. With `tag` the manifest is stored under that tag
   * (and its digest); without, by digest only.
   */
  pushManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor>;
  /** Deletes a manifest by digest. */
  deleteManifest(digest: string): Promise<void>;

  hasBlob(digest: string): Promise<boolean>;
  /** Streams a blob; the stream errors (exit-3 VouchError) if its bytes do not hash to `desc.digest` or exceed `desc.size`. */
  fetchBlob(desc: Descriptor): Promise<Readable>;
  /** Uploads a blob from a stream or buffer (streamed, never buffered whole). */
  pushBlob(desc: Descriptor, content: Readable | Buffer): Promise<void>;
  /**
   * Cross-repository mount (registry stores on the same host only). Resolves true when the
   * blob was mounted, false when the registry declined (the caller then uploads).
   */
  mountBlob?(desc: Descriptor, fromRepository: string): Promise<boolean>;

  /**
   * The OCI referrers API: the referrers of `subjectDigest`, or `undefined` when the store
   * has no referrers API (then the tag schema `sha256-<hex>` index is used).
   */
  referrersApi(subjectDigest: string, artifactType?: string): Promise<Descriptor[] | undefined>;

  /** Lists tags (registry: /tags/list; layout: ref.name annotations). */
  listTags(): Promise<string[]>;
}

/** Options for opening a store on a registry (ignored by layouts). */
export interface RegistryOptions {
  /** Use http:// instead of https:// (never chosen automatically). */
  plainHttp?: boolean;
  /** PEM file with extra CA certificates for TLS. */
  caFile?: string;
  /** Explicit credentials (win over config.json for every host of this invocation). */
  username?: string;
  password?: string;
  /** Directory holding config.json; default $DOCKER_CONFIG or ~/.docker. */
  dockerConfigDir?: string;
  /** Per-request timeout in ms (default 60s for metadata; blobs time out on inactivity). */
  timeoutMs?: number;
  /** Max attempts for retryable failures (429, 5xx, connection reset). Default 5. */
  maxAttempts?: number;
  /** Base backoff in ms (doubles each attempt, capped, honors Retry-After). Default 200. */
  backoffMs?: number;
}

export interface CopyOptions {
  /** Tag to write at the destination, last, after everything else is in place. */
  tag?: string;
  /** Copy referrers recursively (default true). */
  referrers?: boolean;
  /** Max concurrent blob transfers (default 4). */
  concurrency?: number;
  /** Progress callback (bytes and counts), used by the CLI for TTY progress. */
  onProgress?: (p: CopyProgress) => void;
  /** Called after all content is copied and before the tag is written (promotion re-verifies here). */
  beforeTag?: (root: Descriptor) => Promise<void>;
}

export interface CopyProgress {
  phase: 'blobs' | 'manifests' | 'referrers' | 'tag';
  bytes: number;
  blobsDone: number;
  blobsTotal: number;
}

export interface CopyResult {
  source: Descriptor;
  destination: Descriptor;
  manifests: number;
  referrers: number;
  blobs: { copied: number; mounted: number; skipped: number; bytes: number };
  tagged?: string;
}
