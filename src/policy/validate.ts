/**
 * Policy validation: the JSON Schema first, then the contradictions a schema cannot express.
 * An empty or self-contradicting policy is never read as "allow": every problem found here
 * makes loading fail (exit 2).
 */
import type { IdentityMatcher, Policy, TrustedSigner } from './types.js';
import { schemaProblems, type SchemaProblem } from './schema.js';

/**
 * A problem found in a policy. `warning` marks a policy that is consistent but can never allow
 * anything (e.g. a minimum level no builder reaches): loading accepts it — every verification
 * under it is rejected (exit 1), which is fail-closed — while `vouch policy validate` refuses it.
 */
export type PolicyProblem = SchemaProblem & { severity?: 'warning' };

/** Every problem in a parsed policy document; empty when the policy is usable. */
export function validatePolicy(doc: unknown): PolicyProblem[] {
  if (doc === null || doc === undefined || (typeof doc === 'object' && Object.keys(doc).length === 0)) {
    return [{ path: '/', message: 'the policy is empty: it must name at least one trusted signer' }];
  }
  const problems = schemaProblems(doc);
  if (typeof doc !== 'object' || Array.isArray(doc)) return problems;
  const p = doc as Partial<Policy>;
  if (Array.isArray(p.signers) && p.signers.length === 0 && !problems.some((x) => x.path === '/signers')) {
    problems.push({
      path: '/signers',
      message: 'no trusted signers: a policy without signers would allow nothing',
    });
  }
  problems.push(...contradictions(p));
  return dedupe(problems);
}

function contradictions(p: Partial<Policy>): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  const signers = Array.isArray(p.signers) ? p.signers : [];
  const names = new Set<string>();
  signers.forEach((s, i) => {
    out.push(...signerProblems(s, `/signers/${i}`));
    if (s && typeof s.name === 'string') {
      if (names.has(s.name))
        out.push({ path: `/signers/${i}/name`, message: `duplicate signer name "${s.name}"` });
      names.add(s.name);
    }
  });

  const builders = Array.isArray(p.builders) ? p.builders : [];
  builders.forEach((b, i) => {
    if (!b || typeof b !== 'object') return;
    const path = `/builders/${i}`;
    if (b.id !== undefined && b.idRegexp !== undefined) {
      out.push({ path, message: 'builder has both "id" and "idRegexp": give exactly one' });
    } else if (b.id === undefined && b.idRegexp === undefined) {
      out.push({ path, message: 'builder has neither "id" nor "idRegexp"' });
    }
    if (typeof b.idRegexp === 'string') out.push(...regexpProblem(b.idRegexp, `${path}/idRegexp`));
    if (Array.isArray(b.signers)) {
      for (const [j, n] of b.signers.entries()) {
        if (!names.has(n)) {
          out.push({
            path: `${path}/signers/${j}`,
            message: `unknown signer name "${n}" (no entry in signers has this name)`,
          });
        }
      }
    }
  });

  if (typeof p.minSlsaLevel === 'number' && p.minSlsaLevel >= 2) {
    const reachable = builders.some(
      (b) => b && typeof b.maxLevel === 'number' && b.maxLevel >= p.minSlsaLevel!,
    );
    const vsa = Array.isArray(p.trustedVerifiers) && p.trustedVerifiers.length > 0;
    if (!reachable && !vsa) {
      out.push({
        path: '/minSlsaLevel',
        message: `minSlsaLevel ${p.minSlsaLevel} is unreachable: no builder has maxLevel >= ${p.minSlsaLevel} and no trusted verifier is listed, so every verification will be rejected`,
        severity: 'warning',
      });
    }
  }

  const src = p.source;
  if (src && typeof src === 'object') {
    const refKinds = [
      src.branches ? 'branches' : '',
      src.tags ? 'tags' : '',
      src.versionedTag ? 'versionedTag' : '',
    ].filter(Boolean);
    if (refKinds.length > 1) {
      out.push({
        path: '/source',
        message: `source sets ${refKinds.join(' and ')}: a ref is exactly one of a branch, a tag or a versioned tag`,
      });
    }
    if (typeof src.versionedTag === 'string' && !/^v?\d+(\.\d+){0,2}$/.test(src.versionedTag)) {
      out.push({
        path: '/source/versionedTag',
        message: `"${src.versionedTag}" is not a semver prefix like v1, v1.2 or v1.2.3`,
      });
    }
  }

  const tv = Array.isArray(p.trustedVerifiers) ? p.trustedVerifiers : [];
  tv.forEach((v, i) => {
    if (v && Array.isArray(v.signers))
      v.signers.forEach((s, j) => out.push(...signerProblems(s, `/trustedVerifiers/${i}/signers/${j}`)));
  });
  return out;
}

function signerProblems(s: TrustedSigner | undefined, path: string): PolicyProblem[] {
  if (!s || typeof s !== 'object') return [];
  const out: PolicyProblem[] = [];
  if (s.identity && s.key)
    out.push({ path, message: 'signer has both "identity" and "key": give exactly one' });
  else if (!s.identity && !s.key) out.push({ path, message: 'signer has neither "identity" nor "key"' });
  if (s.identity && typeof s.identity === 'object')
    out.push(...identityProblems(s.identity, `${path}/identity`));
  if (s.key && typeof s.key === 'object') {
    if (s.key.path !== undefined && s.key.publicKey !== undefined) {
      out.push({ path: `${path}/key`, message: 'key has both "path" and "publicKey": give exactly one' });
    } else if (s.key.path === undefined && s.key.publicKey === undefined) {
      out.push({ path: `${path}/key`, message: 'key has neither "path" nor "publicKey"' });
    }
    if (typeof s.key.publicKey === 'string' && !s.key.publicKey.includes('-----BEGIN PUBLIC KEY-----')) {
      out.push({
        path: `${path}/key/publicKey`,
        message: 'publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)',
      });
    }
  }
  return out;
}

function identityProblems(id: IdentityMatcher, path: string): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  for (const field of ['issuer', 'subject'] as const) {
    const exact = id[field];
    const re = id[`${field}Regexp`];
    if (exact !== undefined && re !== undefined) {
      out.push({ path, message: `identity has both "${field}" and "${field}Regexp": give exactly one` });
    } else if (exact === undefined && re === undefined) {
      out.push({
        path,
        message: `identity has no "${field}" (or "${field}Regexp"): both issuer and subject are required`,
      });
    }
    if (typeof re === 'string') out.push(...regexpProblem(re, `${path}/${field}Regexp`));
  }
  return out;
}

function regexpProblem(re: string, path: string): PolicyProblem[] {
  try {
    new RegExp(re, 'u');
    return [];
  } catch (e) {
    return [{ path, message: `invalid regular expression: ${(e as Error).message}` }];
  }
}

function dedupe(problems: PolicyProblem[]): PolicyProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Anchors a policy regexp: regexps in a policy always match the whole value. */
export function anchored(re: string): RegExp {
  return new RegExp(`^(?:${re})$`, 'u');
}
