/**
 * Signatures over a precomputed digest ("prehash" verification) and over a file read as a
 * stream. Node's crypto.verify has no prehash mode for ECDSA, so a message signature given only
 * the artifact's digest (the conformance protocol's `sha256:<hex>` form, or a large function
 * package hashed once) is checked with @noble/curves; RSA PKCS#1 v1.5 by recovering the
 * DigestInfo. Ed25519 signs the message itself and cannot be checked from a digest: that fails
 * closed.
 */
import {
  constants,
  createHash,
  createVerify,
  publicDecrypt,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface SignatureCheck {
  ok: boolean;
  /** Why it did not verify, when known beyond "bad signature" (e.g. unsupported key type). */
  reason?: string;
}

const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const DIGEST_LENGTH: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** Verifies `signature` (DER ECDSA, or RSA PKCS#1 v1.5) over `digest`, the `hash` of the message. */
export async function verifyDigestSignature(
  key: KeyObject,
  hash: HashName,
  digest: Buffer,
  signature: Buffer,
): Promise<SignatureCheck> {
  if (digest.length !== DIGEST_LENGTH[hash]) return { ok: false, reason: `digest is not a ${hash} digest` };
  switch (key.asymmetricKeyType) {
    case 'ec':
      return verifyEcdsaPrehashed(key, digest, signature);
    case 'rsa': {
      let recovered: Buffer;
      try {
        recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      } catch {
        return { ok: false };
      }
      return { ok: recovered.equals(Buffer.concat([DIGEST_INFO_PREFIX[hash], digest])) };
    }
    default:
      return {
        ok: false,
        reason: `a ${key.asymmetricKeyType ?? 'unknown'} signature cannot be verified from a digest; pass the artifact file`,
      };
  }
}

async function verifyEcdsaPrehashed(
  key: KeyObject,
  digest: Buffer,
  signature: Buffer,
): Promise<SignatureCheck> {
  const curveName = key.asymmetricKeyDetails?.namedCurve;
  const nist = await import('@noble/curves/nist.js');
  const curve =
    curveName === 'prime256v1'
      ? nist.p256
      : curveName === 'secp384r1'
        ? nist.p384
        : curveName === 'secp521r1'
          ? nist.p521
          : undefined;
  if (!curve) return { ok: false, reason: `unsupported ECDSA curve ${curveName ?? 'unknown'}` };
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) return { ok: false, reason: 'malformed EC public key' };
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, 'base64url'),
    Buffer.from(jwk.y, 'base64url'),
  ]);
  try {
    // lowS: false — Sigstore signers (Go, OpenSSL) do not normalise S.
    return { ok: curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' }) };
  } catch {
    return { ok: false };
  }
}

export interface FileReadResult {
  digests: Partial<Record<HashName, Buffer>>;
  size: number;
  /** Present when a signature check was asked for. */
  signature?: SignatureCheck;
}

/**
 * Reads a file once, as a stream, computing the requested digests and (optionally) verifying a
 * message signature over its bytes — memory stays flat whatever the file size. EdDSA keys sign
 * the message itself and have no streaming API, so for those the file is read whole.
 */
export async function readFileChecked(
  file: string,
  hashes: readonly HashName[],
  sig?: { key: KeyObject; hash: HashName; signature: Buffer },
): Promise<FileReadResult> {
  const pure = sig && (sig.key.asymmetricKeyType === 'ed25519' || sig.key.asymmetricKeyType === 'ed448');
  if (pure) {
    const data = await readFile(file);
    const digests: Partial<Record<HashName, Buffer>> = {};
    for (const h of hashes) digests[h] = createHash(h).update(data).digest();
    let ok = false;
    try {
      ok = cryptoVerify(null, data, sig.key, sig.signature);
    } catch {
      ok = false;
    }
    return { digests, size: data.length, signature: { ok } };
  }
  const hashers = hashes.map((h) => [h, createHash(h)] as const);
  const verifier = sig ? createVerify(sig.hash) : undefined;
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    size += buf.length;
    for (const [, h] of hashers) h.update(buf);
    verifier?.update(buf);
  }
  const digests: Partial<Record<HashName, Buffer>> = {};
  for (const [name, h] of hashers) digests[name] = h.digest();
  let signature: SignatureCheck | undefined;
  if (sig && verifier) {
    try {
      signature = { ok: verifier.verify(sig.key, sig.signature) };
    } catch {
      signature = { ok: false };
    }
  }
  return { digests, size, signature };
}
