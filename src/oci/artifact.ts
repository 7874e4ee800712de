/**
 * OCI artifacts: manifests with an `artifactType`, the empty config and one or more layers.
 * attachArtifact stores one as a referrer of a subject (the cosign v3 / GitHub attest layout
 * for Sigstore bundles); pushArtifact stores a file (a function package) as an artifact of
 * its own.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { badInput } from '../errors.js';
import { digestMismatch, digestOf, HashingStream } from './digest.js';
import { addReferrer } from './referrers.js';
import {
  ANNOTATION,
  EMPTY_JSON,
  MediaType,
  type Descriptor,
  type ImageManifest,
  type Store,
} from './types.js';

export interface ArtifactLayer {
  mediaType: string;
  data: Buffer;
  annotations?: Record<string, string>;
}

export interface Artifact {
  artifactType: string;
  layers: ArtifactLayer[];
  annotations?: Record<string, string>;
}

export interface FileArtifact {
  artifactType: string;
  file: { path: string; mediaType: string; title: string };
  annotations?: Record<string, string>;
}

const EMPTY_CONFIG: Descriptor = {
  mediaType: EMPTY_JSON.mediaType,
  digest: EMPTY_JSON.digest,
  size: EMPTY_JSON.size,
};

/**
 * Pushes `a` as a referrer of `subject` and records it (referrers API or fallback index).
 * Returns the referrer manifest's descriptor, with artifactType and annotations.
 */
export async function attachArtifact(store: Store, subject: Descriptor, a: Artifact): Promise<Descriptor> {
  if (!a.artifactType) throw badInput('ARTIFACT_TYPE_MISSING', 'an artifact needs an artifactType');
  await pushEmptyConfig(store);
  const layers: Descriptor[] = [];
  for (const layer of a.layers) {
    const d: Descriptor = {
      mediaType: layer.mediaType,
      digest: digestOf(layer.data),
      size: layer.data.length,
    };
    if (layer.annotations && Object.keys(layer.annotations).length > 0)
      d.annotations = { ...layer.annotations };
    if (!(await store.hasBlob(d.digest))) await store.pushBlob(d, layer.data);
    layers.push(d);
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: a.artifactType,
    config: EMPTY_CONFIG,
    layers,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: withCreated(a.annotations),
  };
  const referrer = await pushArtifactManifest(store, manifest);
  await addReferrer(store, subject, referrer);
  return referrer;
}

/**
 * Pushes a file as a one-layer artifact (hashed in a first streaming pass, uploaded in a
 * second), tagged `tag` when given. Returns the artifact manifest's descriptor.
 */
export async function pushArtifact(store: Store, a: FileArtifact, tag?: string): Promise<Descriptor> {
  if (!a.artifactType) throw badInput('ARTIFACT_TYPE_MISSING', 'an artifact needs an artifactType');
  const st = await stat(a.file.path);
  if (!st.isFile()) throw badInput('NOT_A_FILE', `${a.file.path} is not a regular file`);
  const hasher = new HashingStream();
  await pipeline(createReadStream(a.file.path), hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  const layer: Descriptor = {
    mediaType: a.file.mediaType,
    digest: hasher.digest,
    size: hasher.size,
    annotations: { [ANNOTATION.title]: a.file.title },
  };
  await pushEmptyConfig(store);
  // The upload is verified against the first pass: a file changed in between fails the push.
  if (!(await store.hasBlob(layer.digest))) await store.pushBlob(layer, createReadStream(a.file.path));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: a.artifactType,
    config: EMPTY_CONFIG,
    layers: [layer],
    annotations: withCreated(a.annotations),
  };
  return pushArtifactManifest(store, manifest, tag);
}

async function pushEmptyConfig(store: Store): Promise<void> {
  if (!(await store.hasBlob(EMPTY_JSON.digest))) {
    await store.pushBlob(EMPTY_CONFIG, Buffer.from(EMPTY_JSON.data, 'base64'));
  }
}

async function pushArtifactManifest(
  store: Store,
  manifest: ImageManifest,
  tag?: string,
): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  const pushed = await store.pushManifest(bytes, MediaType.ociManifest, tag);
  if (pushed.digest !== digest) throw digestMismatch(digest, pushed.digest, store.name);
  const d: Descriptor = { mediaType: MediaType.ociManifest, digest, size: bytes.length };
  if (manifest.artifactType) d.artifactType = manifest.artifactType;
  if (manifest.annotations) d.annotations = { ...manifest.annotations };
  return d;
}

function withCreated(annotations: Record<string, string> | undefined): Record<string, string> {
  return {
    [ANNOTATION.created]: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...annotations,
  };
}
