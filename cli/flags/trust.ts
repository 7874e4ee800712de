/**
 * The trust flags every verifying command shares, and their translation into TrustOptions.
 * Commands merge in policy signers afterwards and then call assertTrustStated: verifying with no
 * stated trust is refused, never read as "any signer will do".
 */
import { Flags } from '@oclif/core';
import { badInput } from '../../src/errors.js';
import type { IdentityMatcher } from '../../src/policy/types.js';
import { loadPublicKey, loadTrustedRoot } from '../../src/trust/index.js';
import type { TrustOptions } from '../../src/verify/bundle.js';
import { anchoredRegExp } from '../../src/verify/identity.js';

export const trustFlags = {
  'certificate-identity': Flags.string({
    summary: 'Exact signer identity (certificate SAN: workflow URI or email) to accept.',
    helpGroup: 'TRUST',
    exclusive: ['certificate-identity-regexp'],
  }),
  'certificate-identity-regexp': Flags.string({
    summary: 'Signer identity as a regular expression (always anchored: ^(?:…)$).',
    helpGroup: 'TRUST',
  }),
  'certificate-oidc-issuer': Flags.string({
    summary: 'Exact OIDC issuer of the signer, e.g. https://token.actions.githubusercontent.com.',
    helpGroup: 'TRUST',
    exclusive: ['certificate-oidc-issuer-regexp'],
  }),
  'certificate-oidc-issuer-regexp': Flags.string({
    summary: 'OIDC issuer as a regular expression (always anchored).',
    helpGroup: 'TRUST',
  }),
  key: Flags.string({
    summary: 'PEM public key to accept for key-based signatures (repeatable).',
    helpGroup: 'TRUST',
    multiple: true,
  }),
  'trusted-root': Flags.string({
    summary: 'Sigstore TrustedRoot JSON (private or GitHub instance); default: the public-good root.',
    helpGroup: 'TRUST',
  }),
  offline: Flags.boolean({
    summary: 'Do not refresh the public-good root through TUF (also VOUCH_OFFLINE=1).',
    helpGroup: 'TRUST',
    default: false,
  }),
  'require-tlog': Flags.boolean({
    summary: 'Key-based signatures must have a transparency-log entry.',
    helpGroup: 'TRUST',
    default: false,
  }),
  'require-timestamp': Flags.boolean({
    summary: 'Key-based signatures must have a verified timestamp (TSA or log).',
    helpGroup: 'TRUST',
    default: false,
  }),
};

export interface TrustFlagValues {
  'certificate-identity'?: string;
  'certificate-identity-regexp'?: string;
  'certificate-oidc-issuer'?: string;
  'certificate-oidc-issuer-regexp'?: string;
  key?: string[];
  'trusted-root'?: string;
  offline?: boolean;
  'require-tlog'?: boolean;
  'require-timestamp'?: boolean;
}

/** The identity the flags name, if any. Throws exit-2 when only half of it is given. */
export function identityFromFlags(flags: TrustFlagValues): IdentityMatcher | undefined {
  const subject = flags['certificate-identity'];
  const subjectRegexp = flags['certificate-identity-regexp'];
  const issuer = flags['certificate-oidc-issuer'];
  const issuerRegexp = flags['certificate-oidc-issuer-regexp'];
  const hasSubject = subject !== undefined || subjectRegexp !== undefined;
  const hasIssuer = issuer !== undefined || issuerRegexp !== undefined;
  if (!hasSubject && !hasIssuer) return undefined;
  if (!hasSubject) {
    throw badInput(
      'IDENTITY_INCOMPLETE',
      'an OIDC issuer was given without a signer identity',
      'add --certificate-identity or --certificate-identity-regexp',
    );
  }
  if (!hasIssuer) {
    throw badInput(
      'IDENTITY_INCOMPLETE',
      'a signer identity was given without its OIDC issuer',
      'add --certificate-oidc-issuer or --certificate-oidc-issuer-regexp',
    );
  }
  if (subjectRegexp !== undefined) anchoredRegExp(subjectRegexp, '--certificate-identity-regexp');
  if (issuerRegexp !== undefined) anchoredRegExp(issuerRegexp, '--certificate-oidc-issuer-regexp');
  const m: IdentityMatcher = {};
  if (subject !== undefined) m.subject = subject;
  if (subjectRegexp !== undefined) m.subjectRegexp = subjectRegexp;
  if (issuer !== undefined) m.issuer = issuer;
  if (issuerRegexp !== undefined) m.issuerRegexp = issuerRegexp;
  return m;
}

/** Loads the trusted root and keys the flags name. Does not assert that any trust was stated. */
export async function trustOptions(flags: TrustFlagValues): Promise<TrustOptions> {
  const identity = identityFromFlags(flags);
  // Key-only verification needs the root only for log/TSA entries that the embedded snapshot
  // covers; skipping the TUF refresh keeps `vouch verify --key` fast and network-free.
  const keyOnly = (flags.key ?? []).length > 0 && !identity;
  const [trustedRoot, keys] = await Promise.all([
    loadTrustedRoot({ file: flags['trusted-root'], offline: flags.offline || keyOnly }),
    Promise.all((flags.key ?? []).map(async (file) => ({ id: file, key: await loadPublicKey(file) }))),
  ]);
  const trust: TrustOptions = { trustedRoot };
  if (identity) trust.identities = [identity];
  if (keys.length) trust.keys = keys;
  if (flags['require-tlog']) trust.requireTlog = true;
  if (flags['require-timestamp']) trust.requireTimestamp = true;
  return trust;
}
