/**
 * Signing workflows that end in a registry or layout: sign an image (cosign v3 image
 * signature), attest an image, publish a signed function package. Everything is signed
 * before anything is written, so a signing failure leaves the store untouched; the image is
 * resolved to a digest exactly once and only that digest is signed and referenced.
 */
import path from 'node:path';
import { badInput } from '../errors.js';
import {
  formatReference,
  MediaType,
  openStore,
  parseReference,
  pushArtifact,
  repositoryName,
  withDigest,
  type Descriptor,
  type ImageIndex,
  type Reference,
  type RegistryOptions,
  type Store,
} from '../oci/index.js';
import {
  digestSubject,
  imageSignatureStatement,
  signStatements,
  statement,
  type SignerSpec,
  type SignResult,
} from '../signing/index.js';
import { attachBundle } from './attach.js';

export const FUNCTION_ARTIFACT_TYPE = 'application/vnd.vouch.function.v1';

export interface SignedReferrer {
  /** The manifest that was signed. */
  subject: Descriptor;
  /** The bundle's referrer manifest. */
  referrer: Descriptor;
  result: SignResult;
}

export interface ImageSigningResult {
  /** The store (repository or layout) the image lives in. */
  repository: string;
  /** The reference as given. */
  input: string;
  /** Set when a tag was resolved to the digest. */
  tag?: string;
  /** `repository@digest`. */
  pinned: string;
  subject: Descriptor;
  signatures: SignedReferrer[];
}

export interface SignImageOptions {
  registry?: RegistryOptions;
  /** Also sign every manifest an index lists. */
  recursive?: boolean;
  /** Called once the tag has been resolved to the digest that will be signed. */
  onResolved?: (tag: string | undefined, digest: string) => void;
}

/** Signs an image with cosign v3's statement (predicate https://sigstore.dev/cosign/sign/v1, `{}`). */
export async function signImage(
  input: string,
  spec: SignerSpec,
  opts: SignImageOptions = {},
): Promise<ImageSigningResult> {
  const { ref, store, subject, tag } = await resolveImage(input, opts.registry);
  opts.onResolved?.(tag, subject.digest);
  const subjects = [subject];
  if (opts.recursive && isIndex(subject.mediaType)) {
    const fetched = await store.fetchManifest(subject);
    for (const child of (fetched.manifest as ImageIndex).manifests ?? []) {
      subjects.push({
        mediaType: child.mediaType,
        digest: child.digest,
        size: child.size,
        platform: child.platform,
      });
    }
  }
  const repo = repositoryName(ref);
  const results = await signStatements(
    subjects.map((s) => imageSignatureStatement(repo, s.digest)),
    spec,
  );
  const signatures: SignedReferrer[] = [];
  for (const [i, s] of subjects.entries()) {
    const result = results[i]!;
    const referrer = await attachBundle(store, s, result.bundle, { bytes: result.bundleBytes });
    signatures.push({ subject: s, referrer, result });
  }
  return {
    repository: store.name,
    input,
    tag,
    pinned: formatReference(withDigest(ref, subject.digest)),
    subject,
    signatures,
  };
}

export interface AttestImageOptions {
  registry?: RegistryOptions;
  onResolved?: (tag: string | undefined, digest: string) => void;
}

/** Signs an in-toto statement about the image (DSSE) and attaches it as a referrer. */
export async function attestImage(
  input: string,
  predicateType: string,
  predicate: unknown,
  spec: SignerSpec,
  opts: AttestImageOptions = {},
): Promise<ImageSigningResult> {
  const { ref, store, subject, tag } = await resolveImage(input, opts.registry);
  opts.onResolved?.(tag, subject.digest);
  const st = statement([digestSubject(repositoryName(ref), subject.digest)], predicateType, predicate);
  const [result] = await signStatements([st], spec);
  const referrer = await attachBundle(store, subject, result!.bundle, { bytes: result!.bundleBytes });
  return {
    repository: store.name,
    input,
    tag,
    pinned: formatReference(withDigest(ref, subject.digest)),
    subject,
    signatures: [{ subject, referrer, result: result! }],
  };
}

export interface FunctionPublication {
  /** The artifact manifest holding the package. */
  artifact: Descriptor;
  referrer: Descriptor;
  repository: string;
  tag?: string;
  pinned: string;
}

/**
 * Pushes a function package as an OCI artifact (artifactType application/vnd.vouch.function.v1,
 * one layer with the package's media type and title) and attaches its signature bundle.
 */
export async function publishFunction(
  file: string,
  target: string,
  signed: SignResult,
  opts: { registry?: RegistryOptions } = {},
): Promise<FunctionPublication> {
  const ref = parseReference(target);
  if (ref.digest) {
    throw badInput('PUSH_DIGEST', `--push takes a repository and optional tag, not a digest: ${target}`);
  }
  const store = await openStore(ref, opts.registry ?? {});
  const artifact = await pushArtifact(
    store,
    {
      artifactType: FUNCTION_ARTIFACT_TYPE,
      file: { path: file, mediaType: packageMediaType(file), title: path.basename(file) },
    },
    ref.tag,
  );
  const referrer = await attachBundle(store, artifact, signed.bundle, { bytes: signed.bundleBytes });
  return {
    artifact,
    referrer,
    repository: store.name,
    tag: ref.tag,
    pinned: formatReference(withDigest(ref, artifact.digest)),
  };
}

/** The layer media type of a function package, from its file name. */
export function packageMediaType(file: string): string {
  const name = path.basename(file).toLowerCase();
  if (name.endsWith('.zip')) return 'application/zip';
  if (name.endsWith('.jar')) return 'application/java-archive';
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'application/gzip';
  return 'application/octet-stream';
}

async function resolveImage(
  input: string,
  registry: RegistryOptions = {},
): Promise<{ ref: Reference; store: Store; subject: Descriptor; tag?: string }> {
  const ref = parseReference(input);
  const store = await openStore(ref, registry);
  const byDigest = ref.digest !== undefined;
  const tag = byDigest ? undefined : (ref.tag ?? 'latest');
  // Resolved exactly once: everything after this uses the digest.
  const resolved = await store.resolve(ref.digest ?? tag!);
  const subject: Descriptor = { mediaType: resolved.mediaType, digest: resolved.digest, size: resolved.size };
  return { ref, store, subject, tag };
}

function isIndex(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}
