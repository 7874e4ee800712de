/**
 * Where Sigstore bundles meet OCI: a bundle is stored as a referrer of the manifest it signs,
 * in the layout cosign v3 (bundle format) and GitHub's attest action use, so their verifiers
 * find what vouch writes and vice versa: one image manifest with
 * `artifactType: application/vnd.dev.sigstore.bundle.v0.3+json`, the empty config, one layer
 * holding the bundle JSON bytes, `subject` = the signed manifest, and the annotations
 * `dev.sigstore.bundle.content` and `dev.sigstore.bundle.predicateType`.
 */
import { badInput } from '../errors.js';
import { ANNOTATION, attachArtifact, MediaType, type Descriptor, type Store } from '../oci/index.js';

/** cosign's predicate type for plain (message) signatures. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** The largest bundle vouch will attach (a bundle is a few KiB; provenance can be larger). */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

export interface AttachBundleOptions {
  /** The exact bytes to store; default: JSON.stringify(bundle). */
  bytes?: Buffer;
}

export interface BundleLike {
  mediaType?: unknown;
  dsseEnvelope?: { payload?: unknown; payloadType?: unknown };
  messageSignature?: unknown;
}

/** The annotation values for a bundle: content kind and predicate type. */
export function bundleAnnotations(bundle: BundleLike): Record<string, string> {
  if (bundle.dsseEnvelope) {
    let predicateType: unknown;
    try {
      predicateType = (
        JSON.parse(Buffer.from(String(bundle.dsseEnvelope.payload), 'base64').toString('utf8')) as {
          predicateType?: unknown;
        }
      ).predicateType;
    } catch {
      predicateType = undefined;
    }
    if (typeof predicateType !== 'string' || !predicateType) {
      throw badInput(
        'BUNDLE_PAYLOAD',
        'the bundle DSSE payload is not an in-toto statement with a predicateType',
      );
    }
    return { [ANNOTATION.bundleContent]: 'dsse-envelope', [ANNOTATION.bundlePredicateType]: predicateType };
  }
  if (bundle.messageSignature) {
    return {
      [ANNOTATION.bundleContent]: 'message-signature',
      [ANNOTATION.bundlePredicateType]: COSIGN_SIGN_PREDICATE_TYPE,
    };
  }
  throw badInput('BUNDLE_CONTENT', 'the bundle has neither a DSSE envelope nor a message signature');
}

/**
 * Pushes the bundle as a referrer of `subject` and records it in the referrers index.
 * Returns the referrer manifest's descriptor.
 */
export async function attachBundle(
  store: Store,
  subject: Descriptor,
  bundle: BundleLike,
  opts: AttachBundleOptions = {},
): Promise<Descriptor> {
  if (bundle.mediaType !== MediaType.sigstoreBundleV03) {
    throw badInput(
      'BUNDLE_VERSION',
      `only v0.3 bundles are attached (got ${JSON.stringify(bundle.mediaType)})`,
      'sign again with vouch to get a v0.3 bundle',
    );
  }
  const bytes = opts.bytes ?? Buffer.from(JSON.stringify(bundle), 'utf8');
  if (bytes.length > MAX_BUNDLE_BYTES) {
    throw badInput('BUNDLE_TOO_LARGE', `bundle is ${bytes.length} bytes (limit ${MAX_BUNDLE_BYTES})`);
  }
  return attachArtifact(store, subject, {
    artifactType: MediaType.sigstoreBundleV03,
    layers: [{ mediaType: MediaType.sigstoreBundleV03, data: bytes }],
    annotations: bundleAnnotations(bundle),
  });
}
