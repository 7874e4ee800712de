/**
 * A verification plan: the effective policy (a file, or one formed in memory from flags), the
 * expectations, and the trust handed to bundle verification — every policy signer and trusted
 * verifier signer — plus the map back from a verified signer to the roles it holds. Key
 * material comes only from the policy and flags, never from a bundle.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { badInput } from '../errors.js';
import {
  anchored,
  resolvePolicyKey,
  type IdentityMatcher,
  type LoadedPolicy,
  type Policy,
  type SlsaLevel,
  type TrustedSigner,
} from '../policy/index.js';
import type { BundleSigner, TrustOptions } from './bundle.js';
import type { Expectations } from './expectations.js';
import { signerId } from './slsa.js';

/** What a verified signer is trusted as. */
export interface SignerRoles {
  /** Policy signer ids (name or `signers[i]`). */
  signers: string[];
  /** Trusted verifier ids whose signers include it (VSA evidence). */
  verifiers: string[];
}

export interface VerificationPlan {
  policy: Policy;
  /** The policy file, when one was given (decision records, VSAs). */
  loaded?: LoadedPolicy;
  expectations: Expectations;
  trust: TrustOptions;
  roles(signer: BundleSigner | undefined): SignerRoles;
  /** Human label of the policy: its path, or "flags". */
  label: string;
}

/** Command-line statements that form or extend the policy. */
export interface PlanInputs {
  /** Trust from flags (trusted root always; identities and keys when given). */
  trust: TrustOptions;
  policy?: LoadedPolicy;
  expectations?: Expectations;
}

/**
 * Builds the plan. Flag identities and keys are trusted signers in addition to the policy's
 * (named `flag-identity-N` / `flag-key-N`); flag expectations add to the policy's. Without a
 * policy, `--builder-id` names the builder trusted up to level 3 when signed by a flag signer.
 */
export async function planVerification(inputs: PlanInputs): Promise<VerificationPlan> {
  const base = inputs.policy?.policy;
  const flagSigners: TrustedSigner[] = [
    ...(inputs.trust.identities ?? []).map((identity, i) => ({ name: `flag-identity-${i + 1}`, identity })),
  ];
  const exp: Expectations = mergeExpectations(base, inputs.expectations ?? {});
  const policy: Policy = base
    ? { ...base, signers: [...base.signers, ...flagSigners] }
    : {
        version: 1,
        signers: flagSigners,
        ...(exp.builderId ? { builders: [{ id: exp.builderId, maxLevel: 3 as SlsaLevel }] } : {}),
        ...(exp.source ? { source: exp.source } : {}),
      };

  // Keys: deduplicated by SPKI fingerprint so that one key holding several roles is one candidate.
  // The id handed to bundle verification (and shown as the signer) names where the key came from.
  const keyRoles = new Map<string, { id: string; key: KeyObject; roles: SignerRoles }>();
  const addKey = (key: KeyObject, role: { signer?: string; verifier?: string; label: string }) => {
    const fp = fingerprint(key);
    let e = keyRoles.get(fp);
    if (!e)
      keyRoles.set(
        fp,
        (e = { id: `${role.label} (${fp.slice(0, 23)}…)`, key, roles: { signers: [], verifiers: [] } }),
      );
    if (role.signer && !e.roles.signers.includes(role.signer)) e.roles.signers.push(role.signer);
    if (role.verifier && !e.roles.verifiers.includes(role.verifier)) e.roles.verifiers.push(role.verifier);
  };
  const baseDir = inputs.policy?.baseDir ?? process.cwd();
  const keyLabel = (s: TrustedSigner, i: number) => s.key?.path ?? `policy signer ${signerId(s, i)}`;
  for (const [i, s] of policy.signers.entries()) {
    if (s.key)
      addKey(await resolvePolicyKey(s.key, baseDir), { signer: signerId(s, i), label: keyLabel(s, i) });
  }
  for (const [i, k] of (inputs.trust.keys ?? []).entries()) {
    const name = `flag-key-${i + 1}`;
    policy.signers.push({ name, key: { path: k.id ?? name } });
    addKey(k.key, { signer: name, label: k.id ?? name });
  }
  const identityRoles: { matcher: IdentityMatcher; roles: SignerRoles }[] = [];
  for (const [i, s] of policy.signers.entries())
    if (s.identity)
      identityRoles.push({ matcher: s.identity, roles: { signers: [signerId(s, i)], verifiers: [] } });
  for (const tv of policy.trustedVerifiers ?? []) {
    for (const s of tv.signers) {
      if (s.key)
        addKey(await resolvePolicyKey(s.key, baseDir), {
          verifier: tv.id,
          label: s.key.path ?? `verifier ${tv.id} key`,
        });
      if (s.identity) identityRoles.push({ matcher: s.identity, roles: { signers: [], verifiers: [tv.id] } });
    }
  }

  if (keyRoles.size === 0 && identityRoles.length === 0) {
    throw badInput(
      'TRUST_NOT_STATED',
      'no trusted signer stated: refusing to accept any signer',
      'pass --certificate-identity and --certificate-oidc-issuer (or their -regexp forms), --key, or a --policy',
    );
  }

  const trust: TrustOptions = {
    ...inputs.trust,
    identities: identityRoles.map((r) => r.matcher),
    keys: [...keyRoles.values()].map((e) => ({ id: e.id, key: e.key })),
    requireTlog: inputs.trust.requireTlog || policy.require?.tlog || undefined,
    requireTimestamp: inputs.trust.requireTimestamp || policy.require?.timestamp || undefined,
  };

  const roles = (signer: BundleSigner | undefined): SignerRoles => {
    const out: SignerRoles = { signers: [], verifiers: [] };
    const merge = (r: SignerRoles) => {
      for (const s of r.signers) if (!out.signers.includes(s)) out.signers.push(s);
      for (const v of r.verifiers) if (!out.verifiers.includes(v)) out.verifiers.push(v);
    };
    if (!signer) return out;
    if (signer.kind === 'key') {
      for (const e of keyRoles.values()) if (e.id === signer.keyId) merge(e.roles);
    } else {
      for (const r of identityRoles)
        if (identityMatches(r.matcher, signer.subject, signer.issuer)) merge(r.roles);
    }
    return out;
  };

  return {
    policy,
    loaded: inputs.policy,
    expectations: exp,
    trust,
    roles,
    label: inputs.policy ? inputs.policy.uri : 'flags',
  };
}

function mergeExpectations(policy: Policy | undefined, flags: Expectations): Expectations {
  const source = { ...(policy?.source ?? {}), ...(flags.source ?? {}) };
  const types = [...new Set([...(policy?.requiredPredicateTypes ?? []), ...(flags.predicateTypes ?? [])])];
  const levels = [policy?.minSlsaLevel, flags.minSlsaLevel].filter((l): l is SlsaLevel => l !== undefined);
  return {
    ...(Object.keys(source).length > 0 ? { source } : {}),
    ...(flags.builderId ? { builderId: flags.builderId } : {}),
    ...(types.length > 0 ? { predicateTypes: types } : {}),
    ...(levels.length > 0 ? { minSlsaLevel: Math.max(...levels) as SlsaLevel } : {}),
  };
}

export function identityMatches(m: IdentityMatcher, subject: string, issuer: string | undefined): boolean {
  if (
    m.subject !== undefined
      ? subject !== m.subject
      : m.subjectRegexp === undefined || !anchored(m.subjectRegexp).test(subject)
  )
    return false;
  if (m.issuer !== undefined) return issuer === m.issuer;
  if (m.issuerRegexp !== undefined) return issuer !== undefined && anchored(m.issuerRegexp).test(issuer);
  return false;
}

function fingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex')}`;
}
