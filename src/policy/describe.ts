/**
 * A policy in plain words, one statement per line, for `vouch policy validate` and for
 * reviewers who should not have to read YAML to know what a policy allows.
 */
import type { IdentityMatcher, Policy, TrustedSigner } from './types.js';

export function describeSigner(s: TrustedSigner, index: number): string {
  const label = s.name ? `"${s.name}"` : `#${index + 1}`;
  if (s.key) {
    const where = s.key.path ? `the public key in ${s.key.path}` : 'an inline public key';
    return `signer ${label}: signatures made with ${where}`;
  }
  if (s.identity) return `signer ${label}: ${describeIdentity(s.identity)}`;
  return `signer ${label}: (incomplete)`;
}

export function describeIdentity(id: IdentityMatcher): string {
  const subject =
    id.subject !== undefined ? `exactly "${id.subject}"` : `matching /^(?:${id.subjectRegexp ?? ''})$/`;
  const issuer =
    id.issuer !== undefined ? `exactly "${id.issuer}"` : `matching /^(?:${id.issuerRegexp ?? ''})$/`;
  return `keyless certificates whose identity is ${subject}, issued by an OIDC issuer ${issuer}`;
}

export function describePolicy(policy: Policy): string[] {
  const out: string[] = [];
  out.push(
    `Accepts signatures and attestations from ${policy.signers.length} signer${policy.signers.length === 1 ? '' : 's'}:`,
  );
  policy.signers.forEach((s, i) => out.push(`  - ${describeSigner(s, i)}`));

  const builders = policy.builders ?? [];
  if (builders.length === 0) {
    out.push('Trusts no builder: provenance can reach at most SLSA Build level 1.');
  } else {
    out.push('Trusts these builders, up to the SLSA Build level given:');
    for (const b of builders) {
      const id =
        b.id !== undefined
          ? b.id.includes('@')
            ? `builder id exactly "${b.id}"`
            : `builder id "${b.id}" (any ref of it)`
          : `builder ids matching /^(?:${b.idRegexp ?? ''})$/`;
      const who = b.signers
        ? `signed by ${b.signers.map((n) => `"${n}"`).join(' or ')}`
        : 'signed by any trusted signer';
      out.push(`  - ${id}: level ${b.maxLevel} when its provenance is ${who}`);
    }
  }

  if (policy.minSlsaLevel !== undefined) {
    out.push(`Requires SLSA Build level ${policy.minSlsaLevel} or higher.`);
  } else {
    out.push('Requires no minimum SLSA Build level.');
  }

  const types = policy.requiredPredicateTypes ?? [];
  if (types.length > 0) out.push(`Requires verified attestations of type: ${types.join(', ')}.`);
  else out.push('Requires at least one verified signature or attestation from a trusted signer.');

  const src = policy.source;
  if (src) {
    const parts: string[] = [];
    if (src.uri) parts.push(`from repository ${src.uri}`);
    if (src.branches) parts.push(`on branch ${src.branches.join(' or ')}`);
    if (src.tags) parts.push(`at tag ${src.tags.join(' or ')}`);
    if (src.versionedTag) parts.push(`at a tag of version ${src.versionedTag}.x`);
    if (parts.length > 0) out.push(`Requires provenance showing the build ran ${parts.join(', ')}.`);
  }

  const v = policy.vulnerabilities;
  if (v && (v.maxSeverity || v.maxCounts)) {
    const parts: string[] = [];
    if (v.maxSeverity) parts.push(`no finding above ${v.maxSeverity} severity`);
    for (const [sev, n] of Object.entries(v.maxCounts ?? {}))
      parts.push(`at most ${n} ${sev} finding${n === 1 ? '' : 's'}`);
    out.push(`Requires a verified vulnerability scan attestation with ${parts.join(', ')}.`);
  }

  const r = policy.require ?? {};
  if (r.tlog) out.push('Requires every signature to be recorded in a transparency log.');
  if (r.timestamp) out.push('Requires a verified timestamp on every signature.');
  if (r.allPlatforms)
    out.push('For a multi-platform index, requires every platform image to verify on its own.');

  for (const tv of policy.trustedVerifiers ?? []) {
    out.push(
      `Accepts verification summaries (VSAs) from verifier "${tv.id}" as evidence of the level they state, when signed by:`,
    );
    tv.signers.forEach((s, i) => out.push(`  - ${describeSigner(s, i)}`));
  }

  if (policy.promotion) {
    out.push(
      `Allows promotion from ${policy.promotion.sources.join(', ')} to ${policy.promotion.destinations.join(', ')}.`,
    );
  } else {
    out.push('Names no promotion sources or destinations: promotion under this policy is refused.');
  }
  return out;
}
