/**
 * The contract of verification results, consumed by commands (rendering), the decision
 * log and promotion.
 */
import type { SlsaLevel } from '../policy/types.js';

/** One named check with its outcome; a failed check names the field that mismatched. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  field?: string;
  expected?: unknown;
  actual?: unknown;
}

/** What was learned about one bundle. */
export interface BundleReport {
  /** Where it came from: a file path or the referrer manifest digest. */
  source: string;
  /** sha256 of the bundle JSON bytes, `sha256:<hex>` (VSA inputAttestations). */
  digest: string;
  mediaType?: string;
  kind?: 'dsse' | 'message-signature';
  predicateType?: string;
  /** Certificate SAN or `key:<hint>`. */
  signer?: string;
  issuer?: string;
  /** Verified times (RFC 3339) and their sources, e.g. `rekor:<logId> @ time`. */
  timestamps?: { source: string; time: string }[];
  ok: boolean;
  checks: Check[];
  error?: string;
}

export interface Verdict {
  ok: boolean;
  /** e.g. `127.0.0.1:5000/demo/app@sha256:…` or a file path. */
  subject: string;
  /** `sha256:<hex>` of the artifact. */
  digest: string;
  slsaLevel: SlsaLevel;
  /** Why the level is not higher (empty at 3). */
  levelReason: string;
  predicateTypes: string[];
  bundles: BundleReport[];
  checks: Check[];
  /** One line: why the verdict is what it is (first failing check, or "all checks passed"). */
  reason: string;
}
