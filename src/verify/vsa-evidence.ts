/**
 * Verification Summary Attestations (VSA v1) as evidence: in a chained promotion the previous
 * promoter already evaluated the provenance; a VSA from a verifier the policy trusts stands in
 * for re-evaluating it. The caller must already have verified the VSA's signature against that
 * verifier's signers; this module checks what the VSA says.
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SlsaLevel } from '../policy/index.js';
import type { Check } from './types.js';

export const VSA_V1 = 'https://slsa.dev/verification_summary/v1';
const LEVEL_RE = /^SLSA_BUILD_LEVEL_([0-3])$/;

export interface VsaExpectation {
  /** Trusted verifier ids (`verifier.id` must equal one exactly). */
  verifierIds: string[];
  /** The artifact's digest, `sha256:<hex>`: a subject and `resourceUri` must name it. */
  digest?: string;
  /** Exact resourceUri to require (for artifacts without an OCI digest, e.g. GCE images). */
  resourceUri?: string;
  /** Subject digests to require (algorithm → value), e.g. `{gce_image_id: '…'}`. */
  subjectDigest?: Record<string, string>;
  /** The level the caller needs; reported in the checks. */
  requiredLevel?: SlsaLevel;
}

export interface VsaEvaluation {
  ok: boolean;
  /** Highest SLSA_BUILD_LEVEL_N in verifiedLevels (0 when none or when not ok). */
  level: SlsaLevel;
  verifierId?: string;
  checks: Check[];
}

type Json = Record<string, unknown>;

export function evaluateVsa(
  statement: { predicateType?: unknown; predicate?: unknown; subject?: unknown },
  exp: VsaExpectation,
): VsaEvaluation {
  const checks: Check[] = [];
  const add = (
    name: string,
    ok: boolean,
    field: string,
    detail: string,
    expected?: unknown,
    actual?: unknown,
  ) => checks.push(ok ? { name, ok, field, detail } : { name, ok, field, detail, expected, actual });
  const pred = (
    statement.predicate && typeof statement.predicate === 'object' ? statement.predicate : {}
  ) as Json;
  add(
    'VSA predicate type',
    statement.predicateType === VSA_V1,
    'predicateType',
    `predicate type ${String(statement.predicateType)}`,
    VSA_V1,
    statement.predicateType,
  );

  const verifierId =
    typeof (pred.verifier as Json | undefined)?.id === 'string'
      ? ((pred.verifier as Json).id as string)
      : undefined;
  add(
    'VSA verifier',
    verifierId !== undefined && exp.verifierIds.includes(verifierId),
    'verifier.id',
    verifierId !== undefined && exp.verifierIds.includes(verifierId)
      ? `verified by ${verifierId}`
      : `verifier ${verifierId ?? '(none)'} is not a trusted verifier`,
    exp.verifierIds,
    verifierId,
  );
  add(
    'VSA result',
    pred.verificationResult === 'PASSED',
    'verificationResult',
    `verificationResult ${String(pred.verificationResult)}`,
    'PASSED',
    pred.verificationResult,
  );

  const resourceUri = typeof pred.resourceUri === 'string' ? pred.resourceUri : undefined;
  const subjects = Array.isArray(statement.subject)
    ? (statement.subject as { digest?: Record<string, unknown> }[])
    : [];
  if (exp.digest) {
    const [alg, hex] = exp.digest.split(':') as [string, string];
    const bound = subjects.some(
      (s) => typeof s?.digest?.[alg] === 'string' && (s.digest[alg] as string).toLowerCase() === hex,
    );
    add(
      'VSA subject',
      bound,
      'subject',
      bound ? `names ${exp.digest}` : `no subject names ${exp.digest}`,
      exp.digest,
    );
    const uriDigest = resourceUri ? digestInUri(resourceUri) : undefined;
    add(
      'VSA resource',
      uriDigest === exp.digest,
      'resourceUri',
      uriDigest === exp.digest
        ? `resourceUri ${resourceUri}`
        : `resourceUri ${resourceUri ?? '(none)'} does not name ${exp.digest}`,
      exp.digest,
      resourceUri,
    );
  }
  if (exp.resourceUri !== undefined) {
    add(
      'VSA resource',
      resourceUri === exp.resourceUri,
      'resourceUri',
      `resourceUri ${resourceUri ?? '(none)'}`,
      exp.resourceUri,
      resourceUri,
    );
  }
  if (exp.subjectDigest) {
    const want = Object.entries(exp.subjectDigest);
    const bound = subjects.some((s) => want.every(([a, v]) => s?.digest?.[a] === v));
    add(
      'VSA subject',
      bound,
      'subject',
      bound ? 'subject digest matches' : 'no subject has the expected digest',
      exp.subjectDigest,
    );
  }
  if (!exp.digest && exp.resourceUri === undefined && !exp.subjectDigest) {
    add(
      'VSA subject',
      false,
      'subject',
      'nothing to bind the VSA to: give the artifact digest or resourceUri',
    );
  }

  const levels = Array.isArray(pred.verifiedLevels)
    ? pred.verifiedLevels.filter((l): l is string => typeof l === 'string')
    : [];
  const level = Math.max(
    0,
    ...levels
      .map((l) => LEVEL_RE.exec(l))
      .filter((m) => m)
      .map((m) => Number(m![1])),
  ) as SlsaLevel;
  if (exp.requiredLevel !== undefined) {
    add(
      'VSA level',
      level >= exp.requiredLevel,
      'verifiedLevels',
      level >= exp.requiredLevel
        ? `SLSA_BUILD_LEVEL_${level} >= ${exp.requiredLevel}`
        : `verifiedLevels ${JSON.stringify(levels)} below SLSA_BUILD_LEVEL_${exp.requiredLevel}`,
      `SLSA_BUILD_LEVEL_${exp.requiredLevel}`,
      levels,
    );
  }
  const ok = checks.every((c) => c.ok);
  return { ok, level: ok ? level : 0, ...(verifierId ? { verifierId } : {}), checks };
}

/** `oci://host/repo@sha256:…`, `host/repo@sha256:…` or a bare `sha256:…` → the digest. */
export function digestInUri(uri: string): string | undefined {
  const m = /(?:^|@)(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/.exec(uri);
  return m?.[1];
}

/** DSSE pre-authentication encoding (the bytes a DSSE signature covers). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload]);
}

/**
 * Verifies a bare DSSE envelope (not a Sigstore bundle — the form slsa-verifier's VSA vectors
 * and some verifiers publish) with a key the user trusts. With `keyId`, only signatures whose
 * `keyid` equals it are tried (slsa-verifier's semantics: an empty or different key id is no
 * valid signature). Returns the decoded statement, or undefined when no signature verifies.
 */
export function verifyDsseEnvelopeWithKey(
  envelope: { payload?: unknown; payloadType?: unknown; signatures?: unknown },
  key: KeyObject,
  keyId?: string,
): { statement: Json; payload: Buffer } | undefined {
  if (
    typeof envelope.payload !== 'string' ||
    typeof envelope.payloadType !== 'string' ||
    !Array.isArray(envelope.signatures)
  )
    return undefined;
  const payload = Buffer.from(envelope.payload, 'base64');
  const msg = pae(envelope.payloadType, payload);
  const hash =
    key.asymmetricKeyType === 'ed25519'
      ? null
      : key.asymmetricKeyDetails?.namedCurve === 'secp384r1'
        ? 'sha384'
        : 'sha256';
  for (const s of envelope.signatures as { sig?: unknown; keyid?: unknown }[]) {
    if (typeof s?.sig !== 'string') continue;
    if (keyId !== undefined && s.keyid !== keyId) continue;
    const sig = Buffer.from(s.sig, 'base64');
    const encodings =
      key.asymmetricKeyType === 'ec' ? (['der', 'ieee-p1363'] as const) : ([undefined] as const);
    for (const dsaEncoding of encodings) {
      let ok = false;
      try {
        ok = cryptoVerify(hash, msg, dsaEncoding ? { key, dsaEncoding } : key, sig);
      } catch {
        ok = false;
      }
      if (ok) {
        try {
          return { statement: JSON.parse(payload.toString('utf8')) as Json, payload };
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

/** sha256 of bytes as `sha256:<hex>` (VSA inputAttestations). */
export function sha256Of(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
