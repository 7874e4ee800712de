/**
 * The vouch policy file (YAML or JSON), validated against schemas/policy.schema.json.
 * This is the contract between policy loading (src/policy) and evaluation (src/verify,
 * src/promote). Field names are the file's field names.
 */
export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type SlsaLevel = 0 | 1 | 2 | 3;

/** Who signed: an OIDC identity (keyless) — exact strings or anchored regexps. */
export interface IdentityMatcher {
  issuer?: string;
  issuerRegexp?: string;
  subject?: string;
  subjectRegexp?: string;
}

/** A public key: a PEM file path (relative to the policy file) or inline PEM. */
export interface KeyRef {
  path?: string;
  publicKey?: string;
}

/** A trusted signer: exactly one of `identity` or `key`. `name` lets builders refer to it. */
export interface TrustedSigner {
  name?: string;
  identity?: IdentityMatcher;
  key?: KeyRef;
}

/** A builder the policy trusts, and the highest SLSA Build level its provenance can reach. */
export interface TrustedBuilder {
  /** Exact builder.id (a GitHub reusable-workflow ref may omit `@refs/tags/vX`: then any ref matches). */
  id?: string;
  /** Anchored regexp over builder.id. */
  idRegexp?: string;
  maxLevel: SlsaLevel;
  /** Names of `signers` allowed to sign this builder's provenance; absent = every trusted signer. */
  signers?: string[];
}

export interface SourceExpectation {
  /** Repository, e.g. `github.com/acme/widget` or `git+https://github.com/acme/widget`. */
  uri?: string;
  branches?: string[];
  tags?: string[];
  /** Semver-style versioned tag expectation, slsa-verifier's `--source-versioned-tag`. */
  versionedTag?: string;
}

export interface VulnerabilityThresholds {
  /** Highest severity allowed; a finding above it fails. */
  maxSeverity?: Severity;
  /** Maximum number of findings per severity. */
  maxCounts?: Partial<Record<Severity, number>>;
}

/** A verifier whose VSAs are accepted as evidence (chained promotions). */
export interface TrustedVerifier {
  /** VSA `verifier.id` that must match exactly. */
  id: string;
  /** Who must have signed the VSA. */
  signers: TrustedSigner[];
}

export interface PromotionRules {
  /** Registry/repository patterns (`*` within a path segment, `**` across) the source must match. */
  sources: string[];
  destinations: string[];
}

export interface Policy {
  version: 1;
  signers: TrustedSigner[];
  builders?: TrustedBuilder[];
  source?: SourceExpectation;
  minSlsaLevel?: SlsaLevel;
  requiredPredicateTypes?: string[];
  vulnerabilities?: VulnerabilityThresholds;
  require?: {
    tlog?: boolean;
    timestamp?: boolean;
    /** For an index: every platform child must carry its own attestations. */
    allPlatforms?: boolean;
  };
  trustedVerifiers?: TrustedVerifier[];
  promotion?: PromotionRules;
}

/** A loaded policy: the parsed document plus where it came from (for VSAs and decision records). */
export interface LoadedPolicy {
  policy: Policy;
  /** file:// URI or the path given. */
  uri: string;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
  /** Directory relative key paths are resolved against. */
  baseDir: string;
  /** Consistent but unsatisfiable parts (e.g. an unreachable minSlsaLevel): verification rejects. */
  warnings?: string[];
}
