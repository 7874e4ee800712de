/** The public face of src/oci: other folders import only this module. */
export * from './types.js';
export {
  DOCKER_HUB,
  parseReference,
  parseRegistryReference,
  formatReference,
  repositoryName,
  withDigest,
  withTag,
  isTag,
} from './reference.js';
export {
  isDigest,
  assertDigest,
  digestAlgorithm,
  sha256Digest,
  digestOf,
  verifyBytes,
  digestMismatch,
  VerifyingStream,
  HashingStream,
  type DigestAlgorithm,
  type VerifyStreamOptions,
} from './digest.js';
export { openStore } from './open.js';
export { openRegistryStore } from './registry.js';
export { LayoutStore, openLayout } from './layout.js';
export {
  listReferrers,
  listReferrerManifests,
  addReferrer,
  addReferrers,
  readFallbackIndex,
  referrersTag,
  isNotFound,
  MAX_REFERRERS,
  type ListReferrersOptions,
  type Referrer,
} from './referrers.js';
export {
  attachArtifact,
  pushArtifact,
  type Artifact,
  type ArtifactLayer,
  type FileArtifact,
} from './artifact.js';
export { copy, copyImage, closeStore, type CopyImageResult } from './copy.js';
export { tree, treeOf, type TreeNode, type TreeOptions } from './tree.js';
