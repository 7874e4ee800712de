/**
 * Builds test images in any Store: a multi-platform index (or a single manifest) with random
 * layers, and referrers attached to it — the shapes copy, tree and referrers must handle.
 */
import { randomBytes } from 'node:crypto';
import { attachArtifact } from '../../src/oci/artifact.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { ANNOTATION, MediaType, type Descriptor, type Store } from '../../src/oci/types.js';

export interface TestImage {
  root: Descriptor;
  children: Descriptor[];
  blobs: Descriptor[];
}

async function putBlob(store: Store, data: Buffer, mediaType: string): Promise<Descriptor> {
  const d = { mediaType, digest: sha256Digest(data), size: data.length };
  await store.pushBlob(d, data);
  return d;
}

async function putManifest(store: Store, obj: object, tag?: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(obj));
  const mt = (obj as { mediaType: string }).mediaType;
  const d = await store.pushManifest(bytes, mt, tag);
  return { mediaType: mt, digest: d.digest, size: bytes.length };
}

/** A platform image: random layer + config; returns the manifest descriptor. */
export async function pushPlatformImage(
  store: Store,
  arch: string,
  layerBytes = 4096,
  tag?: string,
): Promise<{ manifest: Descriptor; blobs: Descriptor[] }> {
  const layer = await putBlob(store, randomBytes(layerBytes), MediaType.ociLayerTar);
  const config = await putBlob(
    store,
    Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
    MediaType.ociConfig,
  );
  const manifest = await putManifest(
    store,
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] },
    tag,
  );
  return { manifest, blobs: [config, layer] };
}

/** A two-platform index (amd64, arm64) tagged `tag`. */
export async function pushIndex(
  store: Store,
  tag: string | undefined,
  layerBytes = 4096,
): Promise<TestImage> {
  const amd = await pushPlatformImage(store, 'amd64', layerBytes);
  const arm = await pushPlatformImage(store, 'arm64', layerBytes);
  const children = [
    { ...amd.manifest, platform: { architecture: 'amd64', os: 'linux' } },
    { ...arm.manifest, platform: { architecture: 'arm64', os: 'linux' } },
  ];
  const root = await putManifest(
    store,
    { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: children },
    tag,
  );
  return { root, children, blobs: [...amd.blobs, ...arm.blobs] };
}

/** Attaches a small bundle-like referrer to `subject`. */
export async function attachTestReferrer(
  store: Store,
  subject: Descriptor,
  name: string,
  artifactType: string = MediaType.sigstoreBundleV03,
  predicateType = 'https://slsa.dev/provenance/v1',
): Promise<Descriptor> {
  return attachArtifact(store, subject, {
    artifactType,
    layers: [
      {
        mediaType: artifactType,
        data: Buffer.from(JSON.stringify({ name, nonce: randomBytes(8).toString('hex') })),
      },
    ],
    annotations: {
      [ANNOTATION.bundlePredicateType]: predicateType,
      [ANNOTATION.bundleContent]: 'dsse-envelope',
    },
  });
}

/**
 * Pushes a manifest that claims (in the fallback index of `listedUnder`) to be a referrer
 * but whose own subject is `realSubject`: readers must ignore it.
 */
export async function pushMislabeledReferrer(
  store: Store,
  listedUnder: Descriptor,
  realSubject: Descriptor,
): Promise<Descriptor> {
  const cfg = await putBlob(store, Buffer.from('{}'), MediaType.ociEmpty);
  const layer = await putBlob(store, randomBytes(32), 'application/vnd.example.evil');
  const m = await putManifest(store, {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: 'application/vnd.example.evil',
    config: cfg,
    layers: [layer],
    subject: { mediaType: realSubject.mediaType, digest: realSubject.digest, size: realSubject.size },
  });
  const tag = listedUnder.digest.replace(':', '-');
  let manifests: Descriptor[] = [];
  try {
    manifests = ((await store.fetchManifest(tag)).manifest as { manifests: Descriptor[] }).manifests;
  } catch {
    manifests = [];
  }
  await putManifest(
    store,
    {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [...manifests, { ...m, artifactType: 'application/vnd.example.evil' }],
    },
    tag,
  );
  return m;
}
