/**
 * The Verification Summary Attestation (SLSA VSA v1) a promotion leaves at the destination:
 * who verified (`verifier.id`), when, which resource by digest, against which policy (by digest),
 * from which attestations (by digest), and the level reached.
 *
 * `verifier.id` is the fixed URI `https://vouch.dev/promote/v1` — the verifier is vouch's
 * promotion gate, not a person; WHO ran it is the VSA's signer (certificate identity or key),
 * and consumers must accept only specific (signer, verifier) pairs, as the SLSA spec says and
 * as a policy's `trustedVerifiers` (id + signers) expresses.
 */
import { badInput } from '../errors.js';
import type { SlsaLevel } from '../policy/types.js';

export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
export const VOUCH_VERIFIER_ID = 'https://vouch.dev/promote/v1';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

export interface DigestSet {
  [algorithm: string]: string;
}

export interface VsaResourceDescriptor {
  uri?: string;
  digest: DigestSet;
}

export interface VsaPredicate {
  verifier: { id: string; version?: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string; digest: DigestSet };
  inputAttestations: VsaResourceDescriptor[];
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
  slsaVersion: string;
}

export interface VsaStatement {
  _type: typeof IN_TOTO_STATEMENT_V1;
  subject: { name: string; digest: DigestSet }[];
  predicateType: typeof VSA_PREDICATE_TYPE;
  predicate: VsaPredicate;
}

export interface VsaInput {
  /** Subject name: the destination repository, e.g. `127.0.0.1:5000/prod/app` or `oci:/abs/prod`. */
  subjectName: string;
  /** Destination manifest digest, `sha256:<hex>`. */
  digest: string;
  /** The destination by digest, e.g. `127.0.0.1:5000/prod/app@sha256:…`. */
  resourceUri: string;
  policy: { uri: string; sha256: string };
  /** Digests (`sha256:<hex>`) of the bundles the verdict rests on, optionally where to fetch them. */
  inputAttestations: { digest: string; uri?: string }[];
  level: SlsaLevel;
  timeVerified?: Date;
  verifierId?: string;
  /** e.g. {vouch: '0.1.0'}. */
  verifierVersion?: Record<string, string>;
}

/** `SLSA_BUILD_LEVEL_N`: one level per track, the highest verified (lower levels are implied). */
export function slsaBuildLevel(level: SlsaLevel): string {
  return `SLSA_BUILD_LEVEL_${level}`;
}

/** Builds a PASSED VSA v1 statement; only ever called after every check has passed. */
export function buildVsa(input: VsaInput): VsaStatement {
  const subjectHex = sha256Hex(input.digest, 'destination digest');
  const policyHex = input.policy.sha256.replace(/^sha256:/, '');
  if (!/^[a-f0-9]{64}$/.test(policyHex)) {
    throw badInput('BAD_VSA_INPUT', `policy digest "${input.policy.sha256}" is not a sha256 digest`);
  }
  // One entry per attestation: the same bundle can reach the verdict twice (index and child).
  const seen = new Set<string>();
  const inputs: VsaResourceDescriptor[] = [];
  for (const a of input.inputAttestations) {
    const hex = sha256Hex(a.digest, 'input attestation digest');
    if (seen.has(hex)) continue;
    seen.add(hex);
    inputs.push(a.uri ? { uri: a.uri, digest: { sha256: hex } } : { digest: { sha256: hex } });
  }
  inputs.sort((a, b) => (a.digest.sha256 as string).localeCompare(b.digest.sha256 as string));
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: input.subjectName, digest: { sha256: subjectHex } }],
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: {
        id: input.verifierId ?? VOUCH_VERIFIER_ID,
        ...(input.verifierVersion ? { version: input.verifierVersion } : {}),
      },
      timeVerified: (input.timeVerified ?? new Date()).toISOString(),
      resourceUri: input.resourceUri,
      policy: { uri: input.policy.uri, digest: { sha256: policyHex } },
      inputAttestations: inputs,
      verificationResult: 'PASSED',
      verifiedLevels: [slsaBuildLevel(input.level)],
      slsaVersion: '1.0',
    },
  };
}

function sha256Hex(digest: string, what: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw badInput('BAD_VSA_INPUT', `${what} "${digest}" is not a sha256 digest`);
  return m[1] as string;
}
