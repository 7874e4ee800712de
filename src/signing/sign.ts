/**
 * Signing operations: DSSE over an in-toto Statement (attestations, image signatures) and
 * message signatures over files (function packages). Every bundle written is a Sigstore
 * bundle v0.3. Files are hashed once while streaming; the signature is made over the digest,
 * so memory stays flat whatever the file size.
 */
import { createHash, sign as nodeSign } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle, SerializedBundle as UpstreamSerializedBundle } from '@sigstore/bundle';
import { badInput, ioFailure } from '../errors.js';
import { writeOutputFile } from '../files.js';
import { loadPrivateKey, type SigningKey } from './keys.js';
import { resolveIdentityToken } from './oidc.js';
import { prepareSigner, type PreparedSigner, type SignerSpec } from './signer.js';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const INTOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

/** The v0.3 bundle JSON object, exactly as serialized by @sigstore/bundle. */
export type SerializedBundle = UpstreamSerializedBundle;

export interface SignResult {
  bundle: SerializedBundle;
  /** The bundle's JSON bytes, exactly as written to files and registries. */
  bundleBytes: Buffer;
  /** `sha256:<hex>` of bundleBytes. */
  digest: string;
  /** Certificate SAN (keyless, org CA) or `key <hint>`. */
  signer: string;
  issuer?: string;
  tlogIndex?: number;
  /** `dsse-envelope` or `message-signature` (the OCI annotation value). */
  content: 'dsse-envelope' | 'message-signature';
  /** For DSSE: the statement's predicateType. */
  predicateType?: string;
}

/** DSSE pre-authentication encoding (DSSE v1 protocol). */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

/** Signs an in-toto Statement v1 as a DSSE envelope (payloadType application/vnd.in-toto+json). */
export async function signStatement(statement: object, spec: SignerSpec): Promise<SignResult> {
  checkStatement(statement);
  return signStatementWith(await prepareSigner(spec), statement);
}

/**
 * Signs several statements with one signer: keyless signing then asks Fulcio for one
 * certificate, not one per statement (an index signed with --recursive).
 */
export async function signStatements(statements: object[], spec: SignerSpec): Promise<SignResult[]> {
  statements.forEach(checkStatement);
  const signer = await prepareSigner(spec);
  const results: SignResult[] = [];
  for (const st of statements) results.push(await signStatementWith(signer, st));
  return results;
}

function checkStatement(statement: object): void {
  const st = statement as { _type?: unknown; subject?: unknown; predicateType?: unknown };
  if (st._type !== INTOTO_STATEMENT_V1) {
    throw badInput('STATEMENT', `statement _type must be ${INTOTO_STATEMENT_V1}`);
  }
  if (!Array.isArray(st.subject) || st.subject.length === 0) {
    throw badInput('STATEMENT', 'statement has no subject');
  }
  if (typeof st.predicateType !== 'string' || !st.predicateType) {
    throw badInput('STATEMENT', 'statement has no predicateType');
  }
}

async function signStatementWith(signer: PreparedSigner, statement: object): Promise<SignResult> {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const signature = signBytes(signer.key, preAuthEncoding(INTOTO_PAYLOAD_TYPE, payload));
  const { toDSSEBundle } = await import('@sigstore/bundle');
  const bundle = toDSSEBundle({
    artifact: payload,
    artifactType: INTOTO_PAYLOAD_TYPE,
    signature,
    certificate: certificateDER(signer),
    keyHint: signer.material.$case === 'publicKey' ? signer.material.hint : undefined,
    certificateChain: false,
  });
  return finish(bundle, signer, 'dsse-envelope', (statement as { predicateType: string }).predicateType);
}

/**
 * Signs a file as a message signature. The file is read once as a stream: its sha256 goes into
 * the bundle and is signed directly (ECDSA over the digest), so memory does not grow with size.
 */
export async function signFile(
  file: string,
  spec: SignerSpec,
): Promise<SignResult & { sha256: string; size: number }> {
  const info = await statFile(file);
  if (spec.kind === 'key') {
    // Checked before any service is contacted and before a large file is read.
    const type = (await loadPrivateKey(spec.keyPath, spec.password)).type;
    if (type === 'ed25519') {
      throw badInput(
        'ED25519_MESSAGE',
        'Ed25519 keys cannot make Sigstore message signatures (verifiers hash the file with SHA-256 first; Ed25519 signs the whole message)',
        'use an ECDSA key (vouch keys generate --type p256), or attest the file with this key: vouch attest FILE --predicate … --type …',
      );
    }
  }
  let ready = spec;
  if (spec.kind === 'keyless') {
    // The token is checked before the (possibly long) hash; the short-lived certificate is
    // requested after it, so that it is still valid when the log entry is made.
    const token = await resolveIdentityToken(spec.identityToken, spec.env ?? process.env);
    ready = { ...spec, identityToken: token.token };
  }
  const digest = await sha256File(file);
  const signer = await prepareSigner(ready);
  const signature = await signDigest(signer.key, digest);
  const { toMessageSignatureBundle } = await import('@sigstore/bundle');
  const bundle = toMessageSignatureBundle({
    digest,
    signature,
    certificate: certificateDER(signer),
    keyHint: signer.material.$case === 'publicKey' ? signer.material.hint : undefined,
    certificateChain: false,
  });
  const result = await finish(bundle, signer, 'message-signature');
  return { ...result, sha256: digest.toString('hex'), size: info.size };
}

/**
 * Streams a file through sha256. One 1 MiB buffer is reused for every read, so memory stays
 * flat (a stream would allocate a fresh buffer per chunk and leave them to the GC).
 */
export async function sha256File(file: string): Promise<Buffer> {
  const hash = createHash('sha256');
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
  } catch (err) {
    throw ioFailure('FILE_READ', `cannot read ${file}: ${(err as Error).message}`, undefined, err);
  } finally {
    await fh?.close();
  }
  return hash.digest();
}

/** Writes bundle bytes atomically; returns the absolute path written. */
export async function writeBundleFile(file: string, bytes: Buffer): Promise<string> {
  const target = path.resolve(file);
  await writeOutputFile(target, bytes);
  return target;
}

function signBytes(key: SigningKey, data: Buffer): Buffer {
  // ECDSA keys sign with SHA-256 whatever the curve: that is what Sigstore verifiers assume for
  // DSSE (Node's default digest for EC keys) and what the bundle's messageDigest says.
  return nodeSign(key.type === 'ed25519' ? null : 'sha256', data, key.privateKey);
}

async function signDigest(key: SigningKey, digest: Buffer): Promise<Buffer> {
  // Node's crypto always hashes what it signs; @noble/curves signs a given digest (prehash off),
  // which spares a second pass over a large file.
  const { p256, p384 } = await import('@noble/curves/nist.js');
  const curve = key.type === 'p384' ? p384 : p256;
  const jwk = key.privateKey.export({ format: 'jwk' });
  if (!jwk.d) throw badInput('KEY_FORMAT', 'private key has no scalar');
  const d = Buffer.from(jwk.d, 'base64url');
  try {
    return Buffer.from(curve.sign(digest, d, { prehash: false, format: 'der' }));
  } finally {
    d.fill(0);
  }
}

function certificateDER(signer: PreparedSigner): Buffer | undefined {
  if (signer.material.$case !== 'x509Certificate') return undefined;
  const b64 = signer.material.certificate
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  return Buffer.from(b64, 'base64');
}

async function finish(
  bundle: Bundle,
  signer: PreparedSigner,
  content: SignResult['content'],
  predicateType?: string,
): Promise<SignResult> {
  const witnessKey =
    signer.material.$case === 'x509Certificate' ? signer.material.certificate : signer.material.publicKey;
  // Witnesses run in parallel; any failure fails the whole signature (nothing is written).
  const materials = await Promise.all(signer.witnesses.map((w) => w.testify(bundle.content, witnessKey)));
  bundle.verificationMaterial.tlogEntries = materials.flatMap((m) => m.tlogEntries ?? []);
  bundle.verificationMaterial.timestampVerificationData = {
    rfc3161Timestamps: materials.flatMap((m) => m.rfc3161Timestamps ?? []),
  };
  const { bundleToJSON } = await import('@sigstore/bundle');
  const json = bundleToJSON(bundle);
  if (json.mediaType !== BUNDLE_V03_MEDIA_TYPE) {
    throw ioFailure('BUNDLE_BUILD', `internal: built bundle has media type ${json.mediaType}, expected v0.3`);
  }
  const bundleBytes = Buffer.from(JSON.stringify(json), 'utf8');
  const first = bundle.verificationMaterial.tlogEntries[0];
  return {
    bundle: json,
    bundleBytes,
    digest: 'sha256:' + createHash('sha256').update(bundleBytes).digest('hex'),
    signer: signer.signer,
    issuer: signer.issuer,
    tlogIndex: first ? Number(first.logIndex) : undefined,
    content,
    predicateType: content === 'dsse-envelope' ? predicateType : 'https://sigstore.dev/cosign/sign/v1',
  };
}

async function statFile(file: string): Promise<{ size: number }> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw badInput('NOT_A_FILE', `not a regular file: ${file}`);
    return { size: s.size };
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw badInput('FILE_NOT_FOUND', `no such file: ${file}`, 'check the path', err);
    throw badInput('FILE_ACCESS', `cannot read ${file}: ${(err as Error).message}`, undefined, err);
  }
}
