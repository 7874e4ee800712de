/**
 * `vouch policy init`: a starter policy from a few flags. The result is validated like any
 * policy file, so init can never write a policy that `vouch policy validate` would refuse.
 *
 * Keys are referenced by path, relative to the directory of the policy file being written
 * (absolute when the policy goes to stdout): the policy then names the key a reviewer can
 * inspect, and rotating the key file does not require editing the policy.
 */
import path from 'node:path';
import { badInput } from '../errors.js';
import type { Policy, Severity, SlsaLevel, TrustedSigner } from './types.js';
import { validatePolicy } from './validate.js';

export interface PolicyInitOptions {
  /** Public key file of the trusted signer. */
  key?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  /** Trusted builder ids, paired by order with builderLevels. */
  builderIds?: string[];
  builderLevels?: number[];
  sourceUri?: string;
  sourceBranch?: string;
  sourceTag?: string;
  sourceVersionedTag?: string;
  minSlsaLevel?: number;
  maxSeverity?: Severity;
  predicateTypes?: string[];
  promoteFrom?: string[];
  promoteTo?: string[];
  /** Where the policy will be written (relative key paths are computed from its directory). */
  out?: string;
}

/** Problems that make the policy unsatisfiable without making it ambiguous (see validate.ts). */
export function policyWarnings(policy: Policy): string[] {
  return validatePolicy(policy)
    .filter((p) => p.severity === 'warning')
    .map((p) => `${p.path}: ${p.message}`);
}

export function policyInit(opts: PolicyInitOptions): Policy {
  const signer = initSigner(opts);
  const policy: Policy = { version: 1, signers: [signer] };

  const ids = opts.builderIds ?? [];
  const levels = opts.builderLevels ?? [];
  if (levels.length > ids.length) {
    throw badInput(
      'POLICY_INIT_BUILDERS',
      `${levels.length} --builder-level given for ${ids.length} --builder-id`,
      'give one --builder-level per --builder-id, in the same order',
    );
  }
  if (ids.length > 0) {
    policy.builders = ids.map((id, i) => {
      const level = levels[i] ?? (levels.length === 0 ? 2 : undefined);
      if (level === undefined) {
        throw badInput(
          'POLICY_INIT_BUILDERS',
          `--builder-id ${id} has no matching --builder-level`,
          'give one --builder-level per --builder-id, in the same order',
        );
      }
      return { id, maxLevel: asLevel(level, '--builder-level') };
    });
  }

  if (opts.sourceUri || opts.sourceBranch || opts.sourceTag || opts.sourceVersionedTag) {
    policy.source = {};
    if (opts.sourceUri) policy.source.uri = opts.sourceUri;
    if (opts.sourceBranch) policy.source.branches = [opts.sourceBranch];
    if (opts.sourceTag) policy.source.tags = [opts.sourceTag];
    if (opts.sourceVersionedTag) policy.source.versionedTag = opts.sourceVersionedTag;
  }
  if (opts.minSlsaLevel !== undefined) policy.minSlsaLevel = asLevel(opts.minSlsaLevel, '--min-slsa-level');
  if (opts.predicateTypes && opts.predicateTypes.length > 0)
    policy.requiredPredicateTypes = [...opts.predicateTypes];
  if (opts.maxSeverity) policy.vulnerabilities = { maxSeverity: opts.maxSeverity };

  const from = opts.promoteFrom ?? [];
  const to = opts.promoteTo ?? [];
  if (from.length > 0 || to.length > 0) {
    if (from.length === 0 || to.length === 0) {
      throw badInput(
        'POLICY_INIT_PROMOTION',
        'promotion needs both --promote-from and --promote-to',
        'give both, or neither',
      );
    }
    policy.promotion = { sources: from, destinations: to };
  }

  const problems = validatePolicy(policy).filter((p) => p.severity !== 'warning');
  if (problems.length > 0) {
    const p = problems[0]!;
    throw badInput(
      'POLICY_INIT_INVALID',
      `these flags make an invalid policy: ${p.path}: ${p.message}`,
      'see: vouch policy init --help',
    );
  }
  return policy;
}

function initSigner(opts: PolicyInitOptions): TrustedSigner {
  const keyless = !!(
    opts.certificateIdentity ||
    opts.certificateIdentityRegexp ||
    opts.certificateOidcIssuer ||
    opts.certificateOidcIssuerRegexp
  );
  if (opts.key && keyless) {
    throw badInput(
      'POLICY_INIT_SIGNER',
      '--key and --certificate-identity/--certificate-oidc-issuer both given',
      'a signer is either a key or a keyless identity: give one',
    );
  }
  if (opts.key) {
    const abs = path.resolve(opts.key);
    const ref = opts.out ? path.relative(path.dirname(path.resolve(opts.out)), abs) || abs : abs;
    return { name: 'default', key: { path: ref.split(path.sep).join('/') } };
  }
  if (!keyless) {
    throw badInput(
      'POLICY_INIT_SIGNER',
      'no trusted signer given',
      'give --key FILE, or --certificate-identity ID --certificate-oidc-issuer URL',
    );
  }
  if (!opts.certificateIdentity && !opts.certificateIdentityRegexp) {
    throw badInput(
      'POLICY_INIT_SIGNER',
      '--certificate-oidc-issuer needs --certificate-identity or --certificate-identity-regexp',
    );
  }
  if (!opts.certificateOidcIssuer && !opts.certificateOidcIssuerRegexp) {
    throw badInput(
      'POLICY_INIT_SIGNER',
      '--certificate-identity needs --certificate-oidc-issuer',
      'keyless identities are an issuer and a subject, e.g. https://token.actions.githubusercontent.com',
    );
  }
  const identity: TrustedSigner['identity'] = {};
  if (opts.certificateOidcIssuer) identity.issuer = opts.certificateOidcIssuer;
  if (opts.certificateOidcIssuerRegexp) identity.issuerRegexp = opts.certificateOidcIssuerRegexp;
  if (opts.certificateIdentity) identity.subject = opts.certificateIdentity;
  if (opts.certificateIdentityRegexp) identity.subjectRegexp = opts.certificateIdentityRegexp;
  return { name: 'default', identity };
}

function asLevel(n: number, flag: string): SlsaLevel {
  if (!Number.isInteger(n) || n < 0 || n > 3)
    throw badInput('POLICY_LEVEL', `${flag} ${n} is not a SLSA Build level (0-3)`);
  return n as SlsaLevel;
}
