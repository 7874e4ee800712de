/**
 * Signing keys: PKCS#8 PEM private keys (ECDSA P-256, P-384, Ed25519; optionally encrypted),
 * their SPKI public keys and the public-key hint a bundle carries instead of the key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as nodeGenerateKeyPair,
  type KeyObject,
} from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { badInput, ioFailure } from '../errors.js';

export type KeyType = 'p256' | 'p384' | 'ed25519';

export const KEY_TYPES: readonly KeyType[] = ['p256', 'p384', 'ed25519'];

/** A private key ready to sign, with what a bundle and a verifier need to know about it. */
export interface SigningKey {
  type: KeyType;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key. */
  publicKeyPem: string;
  /** base64 sha256 of the SPKI DER (the `publicKey.hint` of a key-based bundle, as cosign writes it). */
  hint: string;
}

export interface GenerateKeyPairOptions {
  type?: KeyType;
  /** Encrypts the private key (aes-256-cbc, PBKDF2 via Node's OpenSSL); absent or empty → unencrypted. */
  password?: string;
}

export interface GeneratedKeyPair {
  type: KeyType;
  privateKeyPem: string;
  publicKeyPem: string;
  hint: string;
  encrypted: boolean;
}

export interface WrittenKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
}

const generate = promisify(nodeGenerateKeyPair);

/** base64 sha256 of the SPKI DER encoding: identifies a key without revealing anything new. */
export function keyHint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/** The vouch key type of a Node key object, or undefined for keys vouch does not sign with. */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'P-256') return 'p256';
    if (curve === 'secp384r1' || curve === 'P-384') return 'p384';
  }
  return undefined;
}

export async function generateKeyPair(opts: GenerateKeyPairOptions = {}): Promise<GeneratedKeyPair> {
  const type = opts.type ?? 'p256';
  if (!KEY_TYPES.includes(type)) {
    throw badInput(
      'KEY_TYPE',
      `unsupported key type "${String(type)}"`,
      `use one of: ${KEY_TYPES.join(', ')}`,
    );
  }
  const { privateKey, publicKey } =
    type === 'ed25519'
      ? await generate('ed25519')
      : await generate('ec', { namedCurve: type === 'p256' ? 'P-256' : 'P-384' });
  const encrypted = !!opts.password;
  const privateKeyPem = (
    encrypted
      ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: opts.password })
      : privateKey.export({ type: 'pkcs8', format: 'pem' })
  ).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { type, privateKeyPem, publicKeyPem, hint: keyHint(publicKey), encrypted };
}

/**
 * Writes `vouch.key` (mode 0600) and `vouch.pub` into `dir`. Refuses to overwrite either file;
 * each file is written to a temp name and renamed, so a failure leaves no half-written key.
 */
export async function writeKeyPair(
  dir: string,
  pair: GeneratedKeyPair,
  names: { key?: string; pub?: string } = {},
): Promise<WrittenKeyPair> {
  const privateKeyPath = path.resolve(dir, names.key ?? 'vouch.key');
  const publicKeyPath = path.resolve(dir, names.pub ?? 'vouch.pub');
  for (const p of [privateKeyPath, publicKeyPath]) {
    if (await exists(p)) {
      throw badInput(
        'KEY_EXISTS',
        `refusing to overwrite ${p}`,
        'remove it first or choose another --out-dir',
      );
    }
  }
  try {
    await mkdir(path.resolve(dir), { recursive: true });
  } catch (err) {
    throw ioFailure('KEY_WRITE', `cannot create directory ${dir}: ${(err as Error).message}`, undefined, err);
  }
  const written: string[] = [];
  try {
    await writeExclusive(privateKeyPath, pair.privateKeyPem, 0o600);
    written.push(privateKeyPath);
    await writeExclusive(publicKeyPath, pair.publicKeyPem, 0o644);
    written.push(publicKeyPath);
  } catch (err) {
    await Promise.all(written.map((p) => rm(p, { force: true })));
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const e = err as NodeJS.ErrnoException & { dest?: string };
      throw badInput('KEY_EXISTS', `refusing to overwrite ${e.dest ?? e.path ?? dir}`);
    }
    throw ioFailure(
      'KEY_WRITE',
      `cannot write key files in ${dir}: ${(err as Error).message}`,
      undefined,
      err,
    );
  }
  return { privateKeyPath, publicKeyPath };
}

async function writeExclusive(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  // link() refuses an existing target (EEXIST) atomically, unlike rename(), which would
  // silently replace a key created in the meantime.
  try {
    await link(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await open(p, 'r').then((fh) => fh.close());
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** True when the PEM text holds an encrypted PKCS#8 private key. */
export function isEncryptedPem(pem: string): boolean {
  return pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----');
}

/** Reads the key file; any failure is bad input (exit 2) naming the file, never its content. */
export async function readKeyFile(keyPath: string): Promise<string> {
  try {
    return await readFile(keyPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw badInput('KEY_UNREADABLE', `cannot read key ${keyPath}: ${why}`, 'check the --key path', err);
  }
}

/**
 * Loads a PKCS#8 PEM private key. Encrypted keys need `password`; a wrong password is bad input
 * (exit 2). Only ECDSA P-256/P-384 and Ed25519 keys are accepted.
 */
export async function loadPrivateKey(keyPath: string, password?: string): Promise<SigningKey> {
  const pem = await readKeyFile(keyPath);
  return parsePrivateKey(pem, keyPath, password);
}

export function parsePrivateKey(pem: string, keyPath: string, password?: string): SigningKey {
  if (pem.includes('ENCRYPTED SIGSTORE PRIVATE KEY') || pem.includes('ENCRYPTED COSIGN PRIVATE KEY')) {
    throw badInput(
      'KEY_FORMAT',
      `cannot read ${keyPath}: cosign-encrypted keys are not supported`,
      'export it as PKCS#8 PEM (e.g. cosign import/export, or openssl pkcs8) or create one with: vouch keys generate',
    );
  }
  const encrypted = isEncryptedPem(pem);
  if (encrypted && !password) {
    throw badInput(
      'KEY_PASSWORD_REQUIRED',
      `key ${keyPath} is encrypted and no password was given`,
      'pass --key-password-file FILE, run on a terminal to be prompted, or set VOUCH_KEY_PASSWORD',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(
      encrypted ? { key: pem, format: 'pem', passphrase: password } : { key: pem, format: 'pem' },
    );
  } catch (err) {
    if (encrypted) {
      throw badInput(
        'KEY_PASSWORD',
        `cannot decrypt ${keyPath}: wrong password`,
        'check the key password',
        err,
      );
    }
    throw badInput(
      'KEY_FORMAT',
      `cannot read ${keyPath}: not a PEM private key`,
      'use a PKCS#8 PEM key (BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY), e.g. from: vouch keys generate',
      err,
    );
  }
  const type = keyTypeOf(privateKey);
  if (!type) {
    const what =
      privateKey.asymmetricKeyType === 'ec'
        ? `EC ${privateKey.asymmetricKeyDetails?.namedCurve ?? ''}`.trim()
        : (privateKey.asymmetricKeyType ?? 'unknown');
    throw badInput(
      'KEY_TYPE',
      `unsupported key type ${what} in ${keyPath}`,
      'use an ECDSA P-256, P-384 or Ed25519 key',
    );
  }
  const publicKey = createPublicKey(privateKey);
  return {
    type,
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    hint: keyHint(publicKey),
  };
}
