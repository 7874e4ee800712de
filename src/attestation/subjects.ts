/**
 * Subject matching. `@sigstore/verify` never compares the in-toto subject with the artifact
 * (NOTES.md), so every consumer of a DSSE statement must call one of these.
 */
import type { DigestSet, Statement } from './statement.js';

/** Parses `alg:hex` (OCI digest form) into its parts; undefined when it is not of that form. */
export function splitDigest(digest: string): { alg: string; hex: string } | undefined {
  const m = /^([a-z0-9_]+):([0-9a-fA-F]+)$/.exec(digest);
  return m ? { alg: m[1]!, hex: m[2]!.toLowerCase() } : undefined;
}

/** True when some subject of the statement carries exactly this digest (hex compared case-insensitively). */
export function statementBindsDigest(
  statement: Pick<Statement, 'subject'>,
  alg: string,
  hex: string,
): boolean {
  if (!Array.isArray(statement.subject) || hex.length === 0) return false;
  const want = hex.toLowerCase();
  return statement.subject.some((s) => {
    const v = s?.digest?.[alg];
    return typeof v === 'string' && v.toLowerCase() === want;
  });
}

/**
 * Digest-set matching per the in-toto spec: every algorithm both sets share must agree, and
 * they must share at least one. `{sha256:a, sha512:b}` matches `{sha256:a}`; a disagreement
 * on any shared algorithm is a mismatch.
 */
export function digestSetsMatch(a: DigestSet, b: DigestSet): boolean {
  let shared = 0;
  for (const [alg, v] of Object.entries(a)) {
    const w = b[alg];
    if (w === undefined) continue;
    if (w.toLowerCase() !== v.toLowerCase()) return false;
    shared++;
  }
  return shared > 0;
}

/** The subjects of a statement whose digest set matches `want`. */
export function matchingSubjects<S extends { digest?: DigestSet }>(
  statement: { subject: S[] },
  want: DigestSet,
): S[] {
  return statement.subject.filter((s) => s.digest !== undefined && digestSetsMatch(s.digest, want));
}
