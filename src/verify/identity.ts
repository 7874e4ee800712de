/**
 * Who signed a keyless bundle, and whether that is someone the caller trusts. Matching is done
 * here rather than through @sigstore/verify's policy, which treats SAN strings as unanchored
 * regular expressions ("acme" would accept "evil-acme-fork").
 */
import type { X509Certificate } from '@sigstore/core';
import { badInput } from '../errors.js';
import type { IdentityMatcher } from '../policy/types.js';

/** Fulcio's OIDC issuer: .1.1 (legacy, raw string) and .1.8 (DER UTF8String). */
export const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const FULCIO_ARC = '1.3.6.1.4.1.57264.1.';
/** Extensions .1.1–.1.6 hold raw bytes; .1.7 is the otherName SAN; .1.8+ are DER UTF8Strings. */
const LEGACY_RAW = new Set([1, 2, 3, 4, 5, 6]);

export interface CertificateIdentity {
  /** SAN URI or email (the first one); empty when the certificate has neither. */
  subject: string;
  issuer?: string;
  /** Fulcio extensions by OID (1.3.6.1.4.1.57264.1.*), decoded to strings. */
  extensions: Record<string, string>;
}

export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  const extensions: Record<string, string> = {};
  for (const ext of cert.extensions) {
    let oid: string;
    try {
      oid = ext.subs[0]!.toOID();
    } catch {
      continue;
    }
    if (!oid.startsWith(FULCIO_ARC)) continue;
    const arc = Number(oid.slice(FULCIO_ARC.length));
    if (!Number.isInteger(arc) || arc === 7) continue;
    const raw = ext.subs[ext.subs.length - 1]!.value;
    if (LEGACY_RAW.has(arc)) extensions[oid] = Buffer.from(raw).toString('utf8');
    else {
      const text = derUtf8String(Buffer.from(raw));
      // Only a well-formed UTF8String is an identity claim; anything else is left out, not guessed.
      if (text !== undefined) extensions[oid] = text;
    }
  }
  let subject = '';
  try {
    subject = cert.subjectAltName ?? '';
  } catch {
    subject = '';
  }
  return { subject, issuer: extensions[OID_ISSUER_V2] ?? extensions[OID_ISSUER_V1], extensions };
}

/** Decodes a DER UTF8String (tag 0x0c) that spans the whole buffer; undefined otherwise. */
export function derUtf8String(der: Buffer): string | undefined {
  if (der.length < 2 || der[0] !== 0x0c) return undefined;
  let len = der[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || der.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | der[2 + i]!;
    off = 2 + n;
  }
  if (off + len !== der.length) return undefined;
  return der.subarray(off).toString('utf8');
}

/** Compiles a user regexp anchored at both ends: `^(?:…)$`. Throws exit-2 when invalid. */
export function anchoredRegExp(source: string, what = 'regular expression'): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw badInput(
      'REGEXP_INVALID',
      `invalid ${what} ${JSON.stringify(source)}: ${(err as Error).message}`,
      'use a JavaScript regular expression',
      err,
    );
  }
}

export interface IdentityMatch {
  ok: boolean;
  detail: string;
  /** The first matcher that matched. */
  matched?: IdentityMatcher;
}

/**
 * True when at least one matcher accepts the identity. Every field a matcher names must hold;
 * a matcher without a subject (exact or regexp) matches nothing, so an empty matcher never
 * means "anyone".
 */
export function matchIdentity(
  identity: CertificateIdentity,
  matchers: readonly IdentityMatcher[],
): IdentityMatch {
  if (matchers.length === 0) return { ok: false, detail: 'no trusted identity stated for a keyless bundle' };
  const reasons: string[] = [];
  for (const m of matchers) {
    const why = mismatch(identity, m);
    if (!why)
      return {
        ok: true,
        detail: `certificate identity ${identity.subject} (issuer ${identity.issuer ?? 'none'})`,
        matched: m,
      };
    reasons.push(why);
  }
  return {
    ok: false,
    detail: reasons.length === 1 ? reasons[0]! : `no trusted identity matches: ${reasons.join('; ')}`,
  };
}

function mismatch(id: CertificateIdentity, m: IdentityMatcher): string | undefined {
  if (m.subject === undefined && m.subjectRegexp === undefined) return 'identity matcher names no subject';
  // A certificate without a URI or email SAN has no identity to match, even against ".*".
  if (id.subject === '') return 'certificate has no URI or email identity';
  if (m.subject !== undefined && id.subject !== m.subject) {
    return `certificate identity ${JSON.stringify(id.subject)} != expected ${JSON.stringify(m.subject)}`;
  }
  if (m.subjectRegexp !== undefined && !anchoredRegExp(m.subjectRegexp, 'identity regexp').test(id.subject)) {
    return `certificate identity ${JSON.stringify(id.subject)} does not match ^(?:${m.subjectRegexp})$`;
  }
  if (m.issuer !== undefined && id.issuer !== m.issuer) {
    return `certificate issuer ${JSON.stringify(id.issuer ?? null)} != expected ${JSON.stringify(m.issuer)}`;
  }
  if (
    m.issuerRegexp !== undefined &&
    (id.issuer === undefined || !anchoredRegExp(m.issuerRegexp, 'issuer regexp').test(id.issuer))
  ) {
    return `certificate issuer ${JSON.stringify(id.issuer ?? null)} does not match ^(?:${m.issuerRegexp})$`;
  }
  return undefined;
}

/** What a caller must state before verifying: who is trusted. */
export interface StatedTrust {
  identities?: readonly IdentityMatcher[];
  keys?: readonly unknown[];
}

/**
 * Refuses (exit 2) to verify without a stated trust: no key and no identity would otherwise read
 * as "any signer will do". An identity needs a subject and an issuer (exact or regexp), and its
 * regexps must compile.
 */
export function assertTrustStated(trust: StatedTrust): void {
  const identities = trust.identities ?? [];
  const keys = trust.keys ?? [];
  if (identities.length === 0 && keys.length === 0) {
    throw badInput(
      'TRUST_NOT_STATED',
      'no trusted signer stated: refusing to accept any signer',
      'pass --certificate-identity and --certificate-oidc-issuer (or their -regexp forms), --key, or a --policy',
    );
  }
  for (const m of identities) {
    if (m.subject === undefined && m.subjectRegexp === undefined) {
      throw badInput(
        'IDENTITY_INCOMPLETE',
        'an identity needs a subject',
        'pass --certificate-identity or --certificate-identity-regexp',
      );
    }
    if (m.issuer === undefined && m.issuerRegexp === undefined) {
      throw badInput(
        'IDENTITY_INCOMPLETE',
        `identity ${m.subject ?? m.subjectRegexp} has no OIDC issuer`,
        'pass --certificate-oidc-issuer or --certificate-oidc-issuer-regexp',
      );
    }
    if (m.subject !== undefined && m.subjectRegexp !== undefined) {
      throw badInput(
        'IDENTITY_AMBIGUOUS',
        'give an identity either exactly or as a regexp, not both',
        'drop one of the two flags',
      );
    }
    if (m.issuer !== undefined && m.issuerRegexp !== undefined) {
      throw badInput(
        'IDENTITY_AMBIGUOUS',
        'give an issuer either exactly or as a regexp, not both',
        'drop one of the two flags',
      );
    }
    if (m.subjectRegexp !== undefined) anchoredRegExp(m.subjectRegexp, 'identity regexp');
    if (m.issuerRegexp !== undefined) anchoredRegExp(m.issuerRegexp, 'issuer regexp');
  }
}
