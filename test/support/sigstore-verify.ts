/**
 * Independent verification of bundles vouch writes, straight through @sigstore/verify (not
 * through vouch's own verifier), plus the v0.3 shape checks of @sigstore/bundle.
 */
import { createPublicKey } from 'node:crypto';
import {
  bundleFromJSON,
  BUNDLE_V03_MEDIA_TYPE,
  isBundleWithCertificateChain,
  isBundleWithDsseEnvelope,
  isBundleWithMessageSignature,
  isBundleWithPublicKey,
  assertBundleLatest,
  type Bundle,
} from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer } from '@sigstore/verify';

export interface VerifyOptions {
  /** TrustedRoot JSON (keyless / CA); default: an empty root (key-based). */
  trustedRoot?: Record<string, unknown>;
  /** SPKI PEM of the signing key (key-based bundles). */
  publicKeyPem?: string;
  /** The signed bytes for message signatures. */
  artifact?: Buffer;
  tlogThreshold?: number;
  ctlogThreshold?: number;
  timestampThreshold?: number;
}

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/** Verifies and returns the parsed bundle and the signer; throws what @sigstore/verify throws. */
export function verifyIndependently(
  json: unknown,
  opts: VerifyOptions = {},
): { bundle: Bundle; signer: Signer } {
  const bundle = bundleFromJSON(json);
  const root = TrustedRoot.fromJSON(opts.trustedRoot ?? EMPTY_ROOT);
  const keys = opts.publicKeyPem ? createPublicKey(opts.publicKeyPem) : undefined;
  const tm = toTrustMaterial(root, keys ? () => ({ publicKey: keys, validFor: () => true }) : undefined);
  const verifier = new Verifier(tm, {
    tlogThreshold: opts.tlogThreshold ?? 0,
    ctlogThreshold: opts.ctlogThreshold ?? 0,
    timestampThreshold: opts.timestampThreshold ?? 0,
  });
  const signer = verifier.verify(toSignedEntity(bundle, opts.artifact));
  return { bundle, signer };
}

/** The v0.3 shape every vouch bundle must have; returns a short description for assertions. */
export function describeV03(json: unknown): {
  mediaType: string;
  content: 'dsse' | 'message';
  key: 'publicKey' | 'certificate';
  tlogEntries: number;
  timestamps: number;
} {
  const bundle = bundleFromJSON(json);
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE) throw new Error(`not v0.3: ${bundle.mediaType}`);
  assertBundleLatest(bundle);
  if (isBundleWithCertificateChain(bundle)) throw new Error('v0.3 bundle carries x509CertificateChain');
  const vm = bundle.verificationMaterial;
  return {
    mediaType: bundle.mediaType,
    content: isBundleWithDsseEnvelope(bundle)
      ? 'dsse'
      : isBundleWithMessageSignature(bundle)
        ? 'message'
        : (undefined as never),
    key: isBundleWithPublicKey(bundle)
      ? 'publicKey'
      : vm.content.$case === 'certificate'
        ? 'certificate'
        : (undefined as never),
    tlogEntries: vm.tlogEntries.length,
    timestamps: vm.timestampVerificationData?.rfc3161Timestamps.length ?? 0,
  };
}

/** The in-toto statement inside a DSSE bundle JSON. */
export function statementOf(json: unknown): {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicate: unknown;
} {
  const env = (json as { dsseEnvelope?: { payload: string; payloadType: string } }).dsseEnvelope;
  if (!env) throw new Error('not a DSSE bundle');
  return JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
}
