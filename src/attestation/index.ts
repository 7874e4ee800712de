/** in-toto attestations: Statement v1, predicate types, subject matching, DSSE payloads, schemas. */
export {
  STATEMENT_TYPE_V1,
  STATEMENT_TYPE_V01,
  IN_TOTO_PAYLOAD_TYPE,
  PredicateType,
  buildStatement,
  normalizeDigestSet,
  type DigestSet,
  type ResourceDescriptor,
  type Subject,
  type Statement,
} from './statement.js';
export { splitDigest, statementBindsDigest, digestSetsMatch, matchingSubjects } from './subjects.js';
export {
  MAX_STATEMENT_BYTES,
  dssePayloadBytes,
  parseStatement,
  decodeDssePayload,
  type DsseEnvelopeLike,
} from './dsse.js';
export {
  SchemaId,
  PREDICATE_SCHEMAS,
  checkSchema,
  checkStatement,
  describeProblem,
  validateStatement,
  type SchemaName,
  type SchemaProblem,
} from './validate.js';
export { SEVERITY_RANK, countVulns, severityOf, type VulnCounts, type VulnSeverityLevel } from './vulns.js';
