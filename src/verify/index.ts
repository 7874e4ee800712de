/**
 * Public face of src/verify: bundle verification (verify-core) and policy evaluation —
 * SLSA levels, expectations, vulnerability thresholds, VSA evidence, files and images.
 */
export type * from './types.js';
export {
  verifyBundle,
  parseBundle,
  assertTrustStated,
  anchoredRegExp,
  certificateIdentity,
  matchIdentity,
  IN_TOTO_PAYLOAD_TYPE,
  type ArtifactInput,
  type TrustOptions,
  type VerifiedBundle,
  type InTotoStatement,
  type BundleSigner,
  type CertificateIdentity,
} from './bundle.js';
export {
  PROVENANCE_V1,
  PROVENANCE_V02,
  PROVENANCE_TYPES,
  provenanceFacts,
  checkExpectations,
  builderIdMatches,
  versionedTagMatches,
  normalizeRepo,
  type Expectations,
  type ProvenanceFacts,
} from './expectations.js';
export {
  evaluateLevel,
  evaluateProvenance,
  builderMatches,
  levelCheck,
  signerId,
  type LevelEvaluation,
  type ProvenanceEvidence,
} from './slsa.js';
export { checkVulns, countVulns, VULNS_V02, type VulnCounts } from './vulns.js';
export {
  evaluateVsa,
  verifyDsseEnvelopeWithKey,
  digestInUri,
  pae,
  VSA_V1,
  type VsaExpectation,
  type VsaEvaluation,
} from './vsa-evidence.js';
export { verifyBundles, type BundleItem } from './pool.js';
export {
  planVerification,
  identityMatches,
  type VerificationPlan,
  type PlanInputs,
  type SignerRoles,
} from './plan.js';
export {
  buildVerdict,
  MESSAGE_SIGNATURE,
  type VerdictWithInputs,
  type InputAttestation,
  type FoundBundle,
} from './verdict.js';
export {
  verifyBlobs,
  verifyFile,
  verifyDigest,
  digestArtifact,
  sha256File,
  MAX_BUNDLE_FILE_BYTES,
  type BlobItem,
} from './artifact.js';
export { verifyImage, verifyImageWithPlan, type VerifyImageOptions } from './image.js';
export { decisionRecord, appendDecision, type DecisionRecord } from '../policy/index.js';
