/**
 * Conformance-grade verification of one Sigstore bundle (v0.1–v0.3, DSSE or message signature,
 * keyless or keyed) against an artifact given as a file, bytes or a digest.
 *
 * @sigstore/verify does the transparency-log, timestamp, certificate-chain and SCT checks. vouch
 * adds what it leaves out (NOTES.md): the in-toto subject and message digest are bound to the
 * artifact, identities are compared exactly (regexps anchored), key material inside a bundle is
 * never trusted, a trusted root with open-ended validity is refused, log thresholds count distinct
 * logs, and the signature itself is checked here so that a file is streamed and a bare digest
 * can be verified (prehash).
 */
import { createHash, verify as cryptoVerify, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import { isVouchError, badInput, VouchError } from '../errors.js';
import type { IdentityMatcher } from '../policy/types.js';
import { hasCtlogs, hasTlogs, trustedRootProblems, type TrustedRootJSON } from '../trust/index.js';
import {
  readFileChecked,
  verifyDigestSignature,
  type HashName,
  type SignatureCheck,
} from './digest-signature.js';
import { certificateIdentity, matchIdentity } from './identity.js';
import type { BundleReport, Check } from './types.js';

export { assertTrustStated, anchoredRegExp, certificateIdentity, matchIdentity } from './identity.js';
export type { CertificateIdentity } from './identity.js';

export type ArtifactInput =
  | { kind: 'file'; path: string }
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'digest'; algorithm: 'sha256' | 'sha512'; hex: string };

export interface TrustOptions {
  trustedRoot: TrustedRootJSON;
  /** Who may sign keyless bundles: exact by default, regexps anchored. */
  identities?: IdentityMatcher[];
  /** Public keys the user or policy named — the ONLY way a key bundle verifies. */
  keys?: TrustedKey[];
  /** Key bundles: require a transparency-log entry / a verified timestamp. */
  requireTlog?: boolean;
  requireTimestamp?: boolean;
}

/** A public key the user or policy trusts; `validFor` (e.g. npm's registry keys) bounds the signing time. */
export interface TrustedKey {
  id?: string;
  key: KeyObject;
  validFor?: { start?: Date; end?: Date };
}

/** in-toto Statement (v0.1 or v1), as decoded from a DSSE payload. */
export interface InTotoStatement {
  _type: string;
  subject: { name?: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate?: unknown;
}

export type BundleSigner =
  | { kind: 'certificate'; subject: string; issuer?: string; extensions: Record<string, string> }
  | { kind: 'key'; keyId?: string };

export interface VerifiedBundle {
  report: BundleReport;
  /** The decoded DSSE payload, only when the signature verified. */
  statement?: InTotoStatement;
  signer?: BundleSigner;
  signedAt?: Date;
}

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);
const BUNDLE_MEDIA_TYPES = new Set([
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
]);
/** A statement with more subjects than this is refused rather than scanned (the registry is untrusted). */
const MAX_SUBJECTS = 10_000;
/** Log entries or timestamps per bundle; real bundles carry one or two. */
const MAX_ENTRIES = 16;

/**
 * Parses bundle JSON text. Never throws: invalid JSON comes back as an exit-2-class VouchError
 * *value*, which verifyBundle turns into a failed report (a parse error is reported, never
 * skipped); callers that want to stop instead can test `instanceof VouchError`.
 */
export function parseBundle(text: string | Buffer, source: string): unknown {
  try {
    return JSON.parse(text.toString());
  } catch (err) {
    return badInput(
      'BUNDLE_INVALID_JSON',
      `bundle ${source} is not valid JSON: ${(err as Error).message}`,
      'pass a Sigstore bundle (.sigstore.json)',
      err,
    );
  }
}

type Libs = {
  bundle: typeof import('@sigstore/bundle');
  verify: typeof import('@sigstore/verify');
  core: typeof import('@sigstore/core');
  specs: typeof import('@sigstore/protobuf-specs');
};
let libs: Promise<Libs> | undefined;
/** Loaded on first use so that `vouch --help` and commands that never verify start fast. */
function loadLibs(): Promise<Libs> {
  libs ??= Promise.all([
    import('@sigstore/bundle'),
    import('@sigstore/verify'),
    import('@sigstore/core'),
    import('@sigstore/protobuf-specs'),
  ]).then(([bundle, verify, core, specs]) => ({ bundle, verify, core, specs }));
  return libs;
}

/** Loads the Sigstore libraries and parses the root ahead of the first bundle (worker start-up). */
export async function preloadVerifier(root?: TrustedRootJSON): Promise<void> {
  const l = await loadLibs();
  if (root) trustMaterialFor(l, root);
}

type BaseMaterial = Omit<TrustMaterial, 'publicKey'>;
interface RootEntry {
  problems: string[];
  material?: BaseMaterial;
  error?: string;
  /** Hex ids (logId and checkpointKeyId) of the transparency logs the root names. */
  logIds: Set<string>;
}
/** Parsed once per TrustedRoot object (roots are treated as immutable once passed in). */
const materialCache = new WeakMap<TrustedRootJSON, RootEntry>();

function trustMaterialFor(l: Libs, root: TrustedRootJSON): RootEntry {
  let entry = materialCache.get(root);
  if (!entry) {
    const problems = trustedRootProblems(root);
    entry = { problems, logIds: new Set() };
    if (problems.length === 0) {
      for (const t of root.tlogs ?? []) {
        if (t.logId?.keyId) entry.logIds.add(Buffer.from(t.logId.keyId, 'base64').toString('hex'));
        if (t.checkpointKeyId?.keyId)
          entry.logIds.add(Buffer.from(t.checkpointKeyId.keyId, 'base64').toString('hex'));
      }
      try {
        const parsed = l.specs.TrustedRoot.fromJSON(root);
        const { publicKey: _unused, ...material } = l.verify.toTrustMaterial(parsed, () => {
          throw new Error('no key');
        });
        entry.material = material;
      } catch (err) {
        entry.error = `trusted root cannot be used: ${errorMessage(err)}`;
      }
    }
    materialCache.set(root, entry);
  }
  return entry;
}

/** A failure that ends verification of this bundle; becomes the report's failing check. */
class Fail extends Error {
  constructor(
    readonly check: string,
    message: string,
    readonly extra: Partial<Check> = {},
  ) {
    super(message);
  }
}

class ReportBuilder {
  readonly report: BundleReport;
  constructor(source: string, digest: string) {
    this.report = { source, digest, ok: false, checks: [] };
  }
  pass(name: string, detail: string): void {
    this.report.checks.push({ name, ok: true, detail });
  }
  fail(name: string, detail: string, extra: Partial<Check> = {}): void {
    this.report.checks.push({ name, ok: false, detail, ...extra });
    this.report.error ??= detail;
    this.report.ok = false;
  }
}

/**
 * Verifies one bundle. Never throws for a bad bundle: the report says `ok: false` with the failing
 * check and a precise message. Throws only for programming or I/O errors (an unreadable artifact).
 */
export async function verifyBundle(
  bundle: unknown,
  artifact: ArtifactInput,
  trust: TrustOptions,
  opts: { source?: string; bytes?: Buffer } = {},
): Promise<VerifiedBundle> {
  assertArtifact(artifact);
  const source = opts.source ?? 'bundle';
  const rb = new ReportBuilder(source, bundleDigest(bundle, opts.bytes));
  const out: VerifiedBundle = { report: rb.report };
  try {
    await verifyInto(bundle, artifact, trust, rb, out);
    rb.report.ok = rb.report.checks.length > 0 && rb.report.checks.every((c) => c.ok);
    if (!rb.report.ok) {
      delete out.statement;
      delete out.signer;
    }
  } catch (err) {
    if (err instanceof ArtifactError) throw err.cause;
    const check = err instanceof Fail ? err.check : 'verification';
    rb.fail(
      check,
      err instanceof Fail ? err.message : `verification error: ${errorMessage(err)}`,
      err instanceof Fail ? err.extra : {},
    );
    delete out.statement;
    delete out.signer;
    delete out.signedAt;
  }
  return out;
}

const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;

/** A malformed artifact argument is the caller's error (exit 2), not a verdict on the bundle. */
function assertArtifact(a: ArtifactInput): void {
  if (a?.kind === 'digest') {
    const len = HEX_LENGTH[a.algorithm];
    if (!len)
      throw badInput(
        'ARTIFACT_DIGEST_INVALID',
        `unsupported artifact digest algorithm ${String(a.algorithm)}`,
        'use sha256:<hex> or sha512:<hex>',
      );
    if (typeof a.hex !== 'string' || a.hex.length !== len || !/^[0-9a-fA-F]+$/.test(a.hex)) {
      throw badInput(
        'ARTIFACT_DIGEST_INVALID',
        `artifact digest is not ${len} hex characters of ${a.algorithm}`,
        `use ${a.algorithm}:<hex>`,
      );
    }
  } else if (a?.kind === 'file') {
    if (typeof a.path !== 'string' || a.path === '')
      throw badInput('ARTIFACT_INVALID', 'artifact path is empty', 'pass the artifact file');
  } else if (a?.kind !== 'bytes' || !Buffer.isBuffer(a.data)) {
    throw badInput(
      'ARTIFACT_INVALID',
      'artifact must be a file, bytes or a digest',
      'pass the artifact file or sha256:<hex>',
    );
  }
}

/** Wraps I/O failures on the artifact so that they propagate instead of becoming a report. */
class ArtifactError extends Error {
  constructor(override readonly cause: unknown) {
    super('artifact I/O');
  }
}

function bundleDigest(bundle: unknown, bytes?: Buffer): string {
  let data = bytes;
  if (!data) {
    try {
      data = Buffer.from(isVouchError(bundle) ? '' : (JSON.stringify(bundle) ?? ''));
    } catch {
      data = Buffer.alloc(0);
    }
  }
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function verifyInto(
  raw: unknown,
  artifact: ArtifactInput,
  trust: TrustOptions,
  rb: ReportBuilder,
  out: VerifiedBundle,
): Promise<void> {
  if (raw instanceof VouchError) throw new Fail('bundle-format', raw.message);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Fail('bundle-format', 'bundle is not a JSON object');
  const mediaType = (raw as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.has(mediaType)) {
    throw new Fail('bundle-format', `unsupported bundle mediaType ${JSON.stringify(mediaType ?? null)}`, {
      field: 'mediaType',
    });
  }
  rb.report.mediaType = mediaType;
  const l = await loadLibs();

  let bundle: Bundle;
  try {
    bundle = l.bundle.bundleFromJSON(raw);
  } catch (err) {
    const fields = (err as { fields?: string[] }).fields;
    throw new Fail(
      'bundle-format',
      `invalid bundle: ${errorMessage(err)}${fields?.length ? ` (${fields.join(', ')})` : ''}`,
    );
  }
  // Each entry costs a signature or Merkle check: an untrusted bundle must not set the bill.
  const tsCount = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (bundle.verificationMaterial.tlogEntries.length > MAX_ENTRIES || tsCount > MAX_ENTRIES) {
    throw new Fail('bundle-format', `bundle has more than ${MAX_ENTRIES} log entries or timestamps`);
  }
  const isDsse = bundle.content.$case === 'dsseEnvelope';
  rb.report.kind = isDsse ? 'dsse' : 'message-signature';
  rb.pass('bundle-format', `${mediaType}, ${rb.report.kind}`);

  const root = trustMaterialFor(l, trust.trustedRoot);
  if (root.problems.length)
    throw new Fail('trusted-root', `trusted root is invalid: ${root.problems.slice(0, 3).join('; ')}`);
  if (!root.material) throw new Fail('trusted-root', root.error ?? 'trusted root cannot be used');

  const keyed = bundle.verificationMaterial.content.$case === 'publicKey';
  const keys = trust.keys ?? [];
  if (keyed && keys.length === 0) throw new Fail('key', 'no trusted key for key-based bundle');
  if (!keyed && (trust.identities ?? []).length === 0)
    throw new Fail('identity', 'no trusted identity stated for a keyless bundle');

  // Every log entry must come from a log the trusted root names, whatever the thresholds.
  const logIds = root.logIds;
  for (const e of bundle.verificationMaterial.tlogEntries) {
    const id = e.logId?.keyId.toString('hex') ?? '';
    if (!logIds.has(id))
      throw new Fail(
        'transparency-log',
        `log entry from unknown log ${e.logId?.keyId.toString('base64') ?? '(none)'}`,
      );
  }

  const vmc = bundle.verificationMaterial.content;
  if (vmc.$case === 'x509CertificateChain') {
    // Only the leaf is used (the path is built from the trusted root's CAs), but a chain that is
    // not leaf → issuer order is malformed and refused (sigstore-conformance
    // bundle-with-root-cert_fail). A trailing root, as old npm bundles carry, is harmless.
    const chain = vmc.x509CertificateChain.certificates.map((c, i) => {
      try {
        return new NodeX509(c.rawBytes);
      } catch {
        throw new Fail('certificate', `bundle certificate chain: certificate ${i} cannot be parsed`);
      }
    });
    for (let i = 0; i + 1 < chain.length; i++) {
      const [cert, issuer] = [chain[i]!, chain[i + 1]!];
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
        throw new Fail(
          'certificate',
          `bundle certificate chain is out of order: certificate ${i} is not issued by certificate ${i + 1}`,
        );
      }
    }
  }

  let entity: SignedEntity;
  try {
    entity = l.verify.toSignedEntity(bundle);
  } catch (err) {
    throw new Fail('bundle-format', `invalid bundle: ${errorMessage(err)}`);
  }
  const content = entity.signature;
  // The signature is checked below with the key the verifier establishes, so that a file can be
  // streamed and a digest verified; everything else (tlog body, TSA, chain, SCTs) runs here.
  entity = {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (s) => content.compareSignature(s),
      compareDigest: (d) => content.compareDigest(d),
      compareSignedDigest: (d) => content.compareSignedDigest(d),
      verifySignature: () => true,
    },
  };

  const material: TrustMaterial = {
    ...root.material,
    // The hint inside the bundle is not trusted: the candidate keys are tried in turn below.
    publicKey: () => ({ publicKey: keys[0]!.key, validFor: () => true }),
  };
  const verifier = new l.verify.Verifier(material, {
    tlogThreshold: 0,
    ctlogThreshold: keyed ? 0 : hasCtlogs(trust.trustedRoot) ? 1 : 0,
    timestampThreshold: keyed ? (trust.requireTimestamp ? 1 : 0) : 1,
  });
  let signerKey: KeyObject;
  try {
    signerKey = verifier.verify(entity).key;
  } catch (err) {
    const [check, message] = classify(err);
    throw new Fail(check, message);
  }

  const tlogNeeded = keyed ? (trust.requireTlog ? 1 : 0) : hasTlogs(trust.trustedRoot) ? 1 : 0;
  const distinctLogs = new Set(
    bundle.verificationMaterial.tlogEntries.map((e) => e.logId?.keyId.toString('hex')),
  ).size;
  if (distinctLogs < tlogNeeded) {
    throw new Fail(
      'transparency-log',
      `expected entries from ${tlogNeeded} transparency log(s), got ${distinctLogs}`,
    );
  }
  if (bundle.verificationMaterial.tlogEntries.length) {
    rb.pass(
      'transparency-log',
      `${bundle.verificationMaterial.tlogEntries.length} entr${bundle.verificationMaterial.tlogEntries.length === 1 ? 'y' : 'ies'} from ${distinctLogs} trusted log(s) verified`,
    );
  }
  const times = verifiedTimes(entity, bundle.verificationMaterial.tlogEntries);
  if (times.length) {
    rb.report.timestamps = times.map((t) => ({ source: t.source, time: t.time.toISOString() }));
    out.signedAt = times.reduce((a, b) => (a.time <= b.time ? a : b)).time;
    rb.pass('timestamps', `${times.length} verified timestamp(s): ${times.map((t) => t.source).join(', ')}`);
  }

  let cert: X509Certificate | undefined;
  if (!keyed) {
    cert = (entity.key as { certificate: X509Certificate }).certificate;
    rb.pass('certificate', `chains to a trusted CA at ${out.signedAt?.toISOString() ?? 'the signing time'}`);
  }

  // The signature, over the artifact (message) or the PAE (DSSE).
  const candidates = keyed ? keys : [{ id: undefined, key: signerKey }];
  const sig = await checkSignature(l, bundle, artifact, candidates);
  if (!sig.matched)
    throw new Fail(
      'signature',
      sig.reason
        ? `signature does not verify: ${sig.reason}`
        : keyed
          ? 'signature does not verify with any trusted key'
          : 'signature does not verify',
    );
  rb.pass(
    'signature',
    keyed
      ? `verified with trusted key ${sig.matched.id ?? keyId(sig.matched.key)}`
      : 'verified with the certificate key',
  );
  const window = (sig.matched as TrustedKey).validFor;
  if (keyed && window) {
    if (times.length === 0)
      throw new Fail('key', 'the trusted key has a validity window but the bundle has no verified timestamp');
    for (const t of times) {
      if ((window.start && t.time < window.start) || (window.end && t.time > window.end)) {
        throw new Fail('key', `signed at ${t.time.toISOString()}, outside the trusted key's validity`);
      }
    }
  }

  if (isDsse) {
    const env = (bundle.content as { dsseEnvelope: { payloadType: string; payload: Buffer } }).dsseEnvelope;
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw new Fail(
        'payload-type',
        `DSSE payload type ${JSON.stringify(env.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`,
        {
          field: 'dsseEnvelope.payloadType',
          expected: IN_TOTO_PAYLOAD_TYPE,
          actual: env.payloadType,
        },
      );
    }
    const statement = parseStatement(env.payload);
    rb.report.predicateType = statement.predicateType;
    rb.pass('statement', `in-toto statement, predicate ${statement.predicateType}`);
    const match = await subjectMatches(statement, artifact);
    if (!match.ok)
      throw new Fail('subject-digest', match.detail, { field: 'subject', expected: match.expected });
    rb.pass('subject-digest', match.detail);
    out.statement = statement;
  } else {
    rb.pass('message-digest', sig.digestDetail ?? 'message digest matches the artifact');
  }

  if (keyed) {
    const id = sig.matched.id ?? keyId(sig.matched.key);
    out.signer = { kind: 'key', keyId: id };
    rb.report.signer = `key:${id}`;
  } else {
    const identity = certificateIdentity(cert!);
    rb.report.signer = identity.subject;
    rb.report.issuer = identity.issuer;
    out.signer = {
      kind: 'certificate',
      subject: identity.subject,
      issuer: identity.issuer,
      extensions: identity.extensions,
    };
    const m = matchIdentity(identity, trust.identities ?? []);
    if (!m.ok)
      throw new Fail('identity', m.detail, { field: 'certificate.identity', actual: identity.subject });
    rb.pass('identity', m.detail);
  }
}

/** Maps @sigstore/verify errors (and plain Errors from @sigstore/core) to a check and a message. */
function classify(err: unknown): [string, string] {
  const code = String((err as { code?: unknown }).code ?? '');
  const msg = errorMessage(err);
  if (code.startsWith('TLOG')) return ['transparency-log', `transparency log entry does not verify: ${msg}`];
  if (code.startsWith('TIMESTAMP')) return ['timestamps', `timestamp does not verify: ${msg}`];
  if (code.startsWith('CERTIFICATE')) return ['certificate', `certificate does not verify: ${msg}`];
  if (code.startsWith('PUBLIC_KEY')) return ['key', `public key does not verify: ${msg}`];
  if (code.startsWith('SIGNATURE')) return ['signature', 'signature does not verify'];
  return ['verification', `verification failed: ${msg}`];
}

function errorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0] || 'unknown error';
}

function verifiedTimes(
  entity: SignedEntity,
  entries: TransparencyLogEntry[],
): { source: string; time: Date }[] {
  const out: { source: string; time: Date }[] = [];
  for (const t of entity.timestamps) {
    if (t.$case === 'timestamp-authority') out.push({ source: 'tsa', time: t.timestamp.signingTime });
    else if (t.tlogEntry.inclusionPromise) {
      out.push({
        source: `rekor:${t.tlogEntry.logId?.keyId.toString('base64')}`,
        time: new Date(Number(t.tlogEntry.integratedTime) * 1000),
      });
    }
  }
  void entries;
  return out;
}

function keyId(key: KeyObject): string {
  // Sigstore's key hint: base64 sha256 of the DER SPKI.
  return createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('base64');
}

const HASH_BY_ENUM: Record<number, HashName> = { 1: 'sha256', 2: 'sha384', 3: 'sha512' };

interface SignatureOutcome {
  matched?: TrustedKey;
  reason?: string;
  digestDetail?: string;
}

async function checkSignature(
  l: Libs,
  bundle: Bundle,
  artifact: ArtifactInput,
  candidates: TrustedKey[],
): Promise<SignatureOutcome> {
  if (bundle.content.$case === 'dsseEnvelope') {
    const env = bundle.content.dsseEnvelope;
    const pae = l.core.dsse.preAuthEncoding(env.payloadType, env.payload);
    const sig = env.signatures[0]!.sig;
    for (const c of candidates) if (l.core.crypto.verify(pae, c.key, sig)) return { matched: c };
    return {};
  }
  const ms = bundle.content.messageSignature;
  const hash = HASH_BY_ENUM[ms.messageDigest!.algorithm as number];
  if (!hash)
    throw new Fail(
      'message-digest',
      `unsupported message digest algorithm ${String(ms.messageDigest!.algorithm)}`,
    );
  const bundleDigest = ms.messageDigest!.digest;
  const signature = ms.signature;
  const mismatch = (actual: Buffer) =>
    new Fail(
      'message-digest',
      `bundle message digest ${hash}:${bundleDigest.toString('hex')} != artifact ${hash}:${actual.toString('hex')}`,
      {
        field: 'messageSignature.messageDigest',
        expected: `${hash}:${actual.toString('hex')}`,
        actual: `${hash}:${bundleDigest.toString('hex')}`,
      },
    );
  const detail = `message digest ${hash}:${bundleDigest.toString('hex')} matches the artifact`;

  if (artifact.kind === 'digest') {
    if (artifact.algorithm !== hash) {
      throw new Fail(
        'message-digest',
        `bundle signs a ${hash} digest but the artifact was given as ${artifact.algorithm}; pass the artifact file`,
      );
    }
    const actual = Buffer.from(artifact.hex, 'hex');
    if (!actual.equals(bundleDigest)) throw mismatch(actual);
    let last: SignatureCheck = { ok: false };
    for (const c of candidates) {
      last = await verifyDigestSignature(c.key, hash, actual, signature);
      if (last.ok) return { matched: c, digestDetail: detail };
    }
    return { reason: last.reason };
  }

  if (artifact.kind === 'bytes') {
    const actual = createHash(hash).update(artifact.data).digest();
    if (!actual.equals(bundleDigest)) throw mismatch(actual);
    for (const c of candidates) {
      if (verifyMessage(artifact.data, c.key, hash, signature)) return { matched: c, digestDetail: detail };
    }
    return {};
  }

  // A file: one streaming pass hashes it and verifies the first candidate; further keys reuse the digest.
  let read;
  try {
    read = await readFileChecked(artifact.path, [hash], { key: candidates[0]!.key, hash, signature });
  } catch (err) {
    throw new ArtifactError(err);
  }
  const actual = read.digests[hash]!;
  if (!actual.equals(bundleDigest)) throw mismatch(actual);
  if (read.signature?.ok) return { matched: candidates[0]!, digestDetail: detail };
  for (const c of candidates.slice(1)) {
    const isPure = c.key.asymmetricKeyType === 'ed25519' || c.key.asymmetricKeyType === 'ed448';
    const r = isPure
      ? await readFileChecked(artifact.path, [], { key: c.key, hash, signature })
          .then((x) => x.signature!)
          .catch((err) => {
            throw new ArtifactError(err);
          })
      : await verifyDigestSignature(c.key, hash, actual, signature);
    if (r.ok) return { matched: c, digestDetail: detail };
  }
  return {};
}

function verifyMessage(data: Buffer, key: KeyObject, hash: HashName, signature: Buffer): boolean {
  const pure = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448';
  try {
    return cryptoVerify(pure ? null : hash, data, key, signature);
  } catch {
    return false;
  }
}

function parseStatement(payload: Buffer): InTotoStatement {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new Fail('statement', 'DSSE payload is not JSON');
  }
  const s = json as Partial<InTotoStatement> | null;
  if (!s || typeof s !== 'object' || Array.isArray(s))
    throw new Fail('statement', 'DSSE payload is not an in-toto statement object');
  if (typeof s._type !== 'string' || !STATEMENT_TYPES.has(s._type)) {
    throw new Fail('statement', `unsupported statement _type ${JSON.stringify(s._type ?? null)}`, {
      field: '_type',
    });
  }
  if (typeof s.predicateType !== 'string' || s.predicateType === '')
    throw new Fail('statement', 'statement has no predicateType', { field: 'predicateType' });
  if (!Array.isArray(s.subject) || s.subject.length === 0)
    throw new Fail('statement', 'statement has no subjects', { field: 'subject' });
  if (s.subject.length > MAX_SUBJECTS)
    throw new Fail('statement', `statement has ${s.subject.length} subjects (limit ${MAX_SUBJECTS})`, {
      field: 'subject',
    });
  for (const [i, sub] of s.subject.entries()) {
    if (
      !sub ||
      typeof sub !== 'object' ||
      !sub.digest ||
      typeof sub.digest !== 'object' ||
      Array.isArray(sub.digest)
    ) {
      throw new Fail('statement', `statement subject[${i}] has no digest`, { field: `subject[${i}].digest` });
    }
  }
  return s as InTotoStatement;
}

async function subjectMatches(
  statement: InTotoStatement,
  artifact: ArtifactInput,
): Promise<{ ok: boolean; detail: string; expected?: string }> {
  const present = new Set<string>();
  for (const sub of statement.subject) for (const alg of Object.keys(sub.digest)) present.add(alg);
  let wanted: { alg: 'sha256' | 'sha512'; hex: string }[];
  if (artifact.kind === 'digest') wanted = [{ alg: artifact.algorithm, hex: artifact.hex.toLowerCase() }];
  else {
    // sha256 when any subject carries it, sha512 otherwise: the artifact is hashed only as needed.
    const algs: ('sha256' | 'sha512')[] = present.has('sha256')
      ? ['sha256']
      : present.has('sha512')
        ? ['sha512']
        : ['sha256'];
    if (present.has('sha256') && present.has('sha512')) algs.push('sha512');
    let digests: Partial<Record<HashName, Buffer>>;
    if (artifact.kind === 'bytes')
      digests = Object.fromEntries(algs.map((a) => [a, createHash(a).update(artifact.data).digest()]));
    else {
      try {
        digests = (await readFileChecked(artifact.path, algs)).digests;
      } catch (err) {
        throw new ArtifactError(err);
      }
    }
    wanted = algs.map((a) => ({ alg: a, hex: digests[a]!.toString('hex') }));
  }
  for (const w of wanted) {
    for (const sub of statement.subject) {
      const v = sub.digest[w.alg];
      if (typeof v === 'string' && v.toLowerCase() === w.hex) {
        return {
          ok: true,
          detail: `subject ${sub.name ?? ''} ${w.alg}:${w.hex} matches the artifact`.replace('  ', ' '),
        };
      }
    }
  }
  const first = wanted[0]!;
  return {
    ok: false,
    detail: `subject digest ${first.alg}:${first.hex} not in statement subjects`,
    expected: `${first.alg}:${first.hex}`,
  };
}
