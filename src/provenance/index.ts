/** SLSA provenance v1 generation: source (git), build (CI detection), scan import. */
export {
  generateProvenance,
  parseMaterial,
  vouchVersion,
  type GenerateOptions,
  type GeneratedProvenance,
  type ProvenancePredicate,
  type SourceSummary,
} from './generate.js';
export {
  detectCi,
  CI_VARIABLES,
  VOUCH_BUILD_TYPE,
  GITHUB_BUILD_TYPE,
  GITLAB_BUILD_TYPE,
  LOCAL_BUILDER_ID,
  GCB_BUILDER_ID,
  TEKTON_DEFAULT_BUILDER_ID,
  type CiInfo,
  type CiName,
  type CiSource,
} from './ci.js';
export { gitSource, type GitSource } from './git.js';
export {
  importScan,
  summarizeVulns,
  SCAN_FORMATS,
  MAX_SCAN_BYTES,
  type ImportedScan,
  type ScanFormat,
  type Severity,
  type SeverityCounts,
  type VulnsPredicate,
  type VulnResult,
  type VulnSeverity,
} from './scan.js';
export {
  fileSubject,
  resolveSubjects,
  MAX_SUBJECTS,
  type ResolvedSubject,
  type SubjectDigest,
} from './subjects.js';
export { stripCredentials, isGitCommit } from './url.js';
export { writeOutputFile as writeFileAtomic } from '../files.js';
export {
  runProvenance,
  vulnsPath,
  type ProvenanceRun,
  type ProvenanceOutcome,
  type WrittenDocument,
  type PushedReferrer,
} from './publish.js';
