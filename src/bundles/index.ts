/** Public face of src/bundles: Sigstore bundles stored as OCI referrers. */
export { attachBundle, bundleAnnotations, COSIGN_SIGN_PREDICATE_TYPE, MAX_BUNDLE_BYTES } from './attach.js';
export type { AttachBundleOptions, BundleLike } from './attach.js';
export {
  signImage,
  attestImage,
  publishFunction,
  packageMediaType,
  FUNCTION_ARTIFACT_TYPE,
} from './publish.js';
export type {
  ImageSigningResult,
  SignedReferrer,
  SignImageOptions,
  AttestImageOptions,
  FunctionPublication,
} from './publish.js';
export {
  discoverBundles,
  isBundleType,
  MAX_DISCOVERED_BUNDLE_BYTES,
  SIGSTORE_BUNDLE_TYPE_PREFIX,
  type DiscoveredBundle,
} from './discover.js';
