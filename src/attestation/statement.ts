/**
 * in-toto Statement v1 and ResourceDescriptor v1
 * (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md).
 */

export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
/** v0.1 differs from v1 only in `_type`; still written by slsa-github-generator for provenance v0.2. */
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';
/** DSSE payloadType of in-toto statements. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export const PredicateType = {
  slsaProvenanceV1: 'https://slsa.dev/provenance/v1',
  slsaProvenanceV02: 'https://slsa.dev/provenance/v0.2',
  vulnsV02: 'https://in-toto.io/attestation/vulns/v0.2',
  verificationSummaryV1: 'https://slsa.dev/verification_summary/v1',
} as const;

/** Algorithm → hex digest (https://github.com/in-toto/attestation/blob/main/spec/v1/digest_set.md). */
export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  /** base64 */
  content?: string;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

/** A subject always carries a digest. */
export interface Subject extends ResourceDescriptor {
  digest: DigestSet;
}

export interface Statement<P = Record<string, unknown>> {
  _type: typeof STATEMENT_TYPE_V1;
  subject: Subject[];
  predicateType: string;
  predicate: P;
}

/**
 * Builds a Statement v1. Subjects are copied so later edits of the caller's objects do not
 * change what gets signed; digest hex is lower-cased as the digest-set spec requires.
 */
export function buildStatement<P extends object>(
  subjects: Subject[],
  predicateType: string,
  predicate: P,
): Statement<P> {
  return {
    _type: STATEMENT_TYPE_V1,
    subject: subjects.map((s) => ({ ...s, digest: normalizeDigestSet(s.digest) })),
    predicateType,
    predicate,
  };
}

const HEX_ALGS = new Set([
  'md5',
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'sha512_224',
  'sha512_256',
  'sha3_224',
  'sha3_256',
  'sha3_384',
  'sha3_512',
  'dirHash',
  'gitCommit',
  'gitTree',
  'gitBlob',
  'gitTag',
]);

/** Lower-cases the hex of known algorithms; other algorithms (e.g. `arn`) are opaque and kept. */
export function normalizeDigestSet(d: DigestSet): DigestSet {
  const out: DigestSet = {};
  for (const [alg, v] of Object.entries(d)) out[alg] = HEX_ALGS.has(alg) ? v.toLowerCase() : v;
  return out;
}
