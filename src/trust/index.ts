/**
 * Trust anchors: Sigstore TrustedRoots (the embedded public-good snapshot, a file the user names,
 * or a TUF refresh when online) and public keys the user names. Nothing here ever reads trust
 * from a bundle: key material inside a bundle is never an anchor.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { badInput, toVouchError, VouchError } from '../errors.js';
import { writeFileAtomic } from '../files.js';

/** The JSON (proto3 canonical JSON) form of a Sigstore TrustedRoot, as found in trusted_root.json. */
export interface TrustedRootJSON {
  mediaType?: string;
  tlogs?: TransparencyLogJSON[];
  certificateAuthorities?: CertificateAuthorityJSON[];
  ctlogs?: TransparencyLogJSON[];
  timestampAuthorities?: CertificateAuthorityJSON[];
}

export interface TimeRangeJSON {
  start?: string;
  /** Open-ended when absent or null (exported roots write null). */
  end?: string | null;
}

export interface TransparencyLogJSON {
  baseUrl?: string;
  hashAlgorithm?: string;
  publicKey?: { rawBytes?: string; keyDetails?: string; validFor?: TimeRangeJSON };
  logId?: { keyId?: string };
  checkpointKeyId?: { keyId?: string };
}

export interface CertificateAuthorityJSON {
  subject?: unknown;
  uri?: string;
  certChain?: { certificates?: { rawBytes?: string }[] };
  validFor?: TimeRangeJSON;
}

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
const TRUSTED_ROOT_MEDIA_TYPE_V02 = 'application/vnd.dev.sigstore.trustedroot.v0.2+json';

/**
 * Lists what makes a TrustedRoot unusable, empty when it is well-formed. A missing
 * `validFor.start` is a defect, never "valid since forever": sigstore-conformance's
 * trust-root-tlog-missing-validity-start case requires rejecting it.
 */
export function trustedRootProblems(root: unknown): string[] {
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return ['not a JSON object'];
  const r = root as Record<string, unknown>;
  const problems: string[] = [];
  if (
    r.mediaType !== undefined &&
    r.mediaType !== TRUSTED_ROOT_MEDIA_TYPE &&
    r.mediaType !== TRUSTED_ROOT_MEDIA_TYPE_V02
  ) {
    problems.push(`unsupported mediaType ${JSON.stringify(r.mediaType)}`);
  }
  for (const field of ['tlogs', 'ctlogs', 'certificateAuthorities', 'timestampAuthorities']) {
    if (r[field] !== undefined && !Array.isArray(r[field])) problems.push(`${field} is not an array`);
  }
  if (problems.length) return problems;
  const logs = (field: 'tlogs' | 'ctlogs') =>
    ((r[field] as TransparencyLogJSON[] | undefined) ?? []).entries();
  for (const field of ['tlogs', 'ctlogs'] as const) {
    for (const [i, log] of logs(field)) {
      const at = `${field}[${i}]`;
      if (!log || typeof log !== 'object') {
        problems.push(`${at} is not an object`);
        continue;
      }
      if (!isBase64(log.publicKey?.rawBytes)) problems.push(`${at}.publicKey.rawBytes missing or not base64`);
      if (!isBase64(log.logId?.keyId)) problems.push(`${at}.logId.keyId missing or not base64`);
      problems.push(...timeRangeProblems(log.publicKey?.validFor, `${at}.publicKey.validFor`));
    }
  }
  for (const field of ['certificateAuthorities', 'timestampAuthorities'] as const) {
    for (const [i, ca] of ((r[field] as CertificateAuthorityJSON[] | undefined) ?? []).entries()) {
      const at = `${field}[${i}]`;
      if (!ca || typeof ca !== 'object') {
        problems.push(`${at} is not an object`);
        continue;
      }
      const certs = ca.certChain?.certificates;
      if (!Array.isArray(certs) || certs.length === 0 || !certs.every((c) => isBase64(c?.rawBytes))) {
        problems.push(`${at}.certChain has no certificates`);
      }
      problems.push(...timeRangeProblems(ca.validFor, `${at}.validFor`));
    }
  }
  const count = (f: string) => ((r[f] as unknown[] | undefined) ?? []).length;
  if (count('certificateAuthorities') + count('timestampAuthorities') + count('tlogs') === 0) {
    problems.push('no certificate authorities, timestamp authorities or transparency logs');
  }
  return problems;
}

function timeRangeProblems(range: TimeRangeJSON | undefined, at: string): string[] {
  if (!range || typeof range !== 'object') return [`${at} missing`];
  const out: string[] = [];
  if (typeof range.start !== 'string' || Number.isNaN(Date.parse(range.start)))
    out.push(`${at}.start missing or invalid`);
  if (
    range.end !== undefined &&
    range.end !== null &&
    (typeof range.end !== 'string' || Number.isNaN(Date.parse(range.end)))
  ) {
    out.push(`${at}.end invalid`);
  }
  return out;
}

function isBase64(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(v);
}

/** Parses and validates TrustedRoot JSON text; `source` names it in messages. Throws exit-2 errors. */
export function parseTrustedRoot(text: string | Buffer, source: string): TrustedRootJSON {
  let json: unknown;
  try {
    json = JSON.parse(text.toString());
  } catch (err) {
    throw badInput(
      'TRUSTED_ROOT_INVALID',
      `trusted root ${source} is not JSON: ${(err as Error).message}`,
      HINT_ROOT,
      err,
    );
  }
  const problems = trustedRootProblems(json);
  if (problems.length) {
    throw badInput(
      'TRUSTED_ROOT_INVALID',
      `trusted root ${source} is invalid: ${problems.slice(0, 3).join('; ')}`,
      HINT_ROOT,
    );
  }
  return json as TrustedRootJSON;
}

const HINT_ROOT = 'pass a Sigstore TrustedRoot JSON file (trusted_root.json) with --trusted-root';

let embedded: Promise<TrustedRootJSON> | undefined;

/** The public-good root vouch ships with (see src/trust/embedded/README.md). */
export function embeddedTrustedRoot(): Promise<TrustedRootJSON> {
  embedded ??= import('./embedded/trusted_root.json', { with: { type: 'json' } }).then(
    (m) => (m as { default: TrustedRootJSON }).default,
  );
  return embedded;
}

export interface LoadTrustedRootOptions {
  /** A TrustedRoot JSON file (a private or GitHub instance); no TUF then. */
  file?: string;
  /** Never touch the network (also when VOUCH_OFFLINE=1). */
  offline?: boolean;
  /** Bound for the TUF refresh, default 2 s; it is never required. */
  refreshTimeoutMs?: number;
  /** TUF repository (default: the public-good CDN, or VOUCH_TUF_MIRROR). */
  mirrorUrl?: string;
}

/**
 * The TrustedRoot to verify against: the file when given, else the public-good root refreshed
 * through TUF when online, falling back to the embedded snapshot when the refresh fails or is
 * slow (a stale root still verifies everything signed before its last key rotation).
 */
export async function loadTrustedRoot(opts: LoadTrustedRootOptions = {}): Promise<TrustedRootJSON> {
  if (opts.file !== undefined) {
    let text: Buffer;
    try {
      text = await readFile(opts.file);
    } catch (err) {
      const ve = toVouchError(err);
      throw new VouchError(
        'TRUSTED_ROOT_UNREADABLE',
        `cannot read trusted root ${opts.file}: ${ve.message}`,
        {
          exitCode: 2,
          hint: HINT_ROOT,
          cause: err,
        },
      );
    }
    return parseTrustedRoot(text, opts.file);
  }
  const offline = opts.offline || process.env.VOUCH_OFFLINE === '1';
  if (!offline) {
    const cached = await readCachedRoot();
    if (cached) return cached;
    const fresh = await refreshFromTuf(
      opts.refreshTimeoutMs ?? 2000,
      opts.mirrorUrl ?? process.env.VOUCH_TUF_MIRROR,
    );
    if (fresh) {
      await writeCachedRoot(fresh);
      return fresh;
    }
  }
  return embeddedTrustedRoot();
}

/** A TUF-verified root is reused for a day so that every command does not pay the refresh. */
const CACHE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

function cachedRootPath(): string {
  return path.join(tufCachePath(), '..', 'trusted_root.json');
}

async function readCachedRoot(): Promise<TrustedRootJSON | undefined> {
  try {
    const file = cachedRootPath();
    const info = await stat(file);
    if (Date.now() - info.mtimeMs > CACHE_MAX_AGE_MS) return undefined;
    const json = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return trustedRootProblems(json).length === 0 ? (json as TrustedRootJSON) : undefined;
  } catch {
    return undefined;
  }
}

async function writeCachedRoot(root: TrustedRootJSON): Promise<void> {
  try {
    const file = cachedRootPath();
    await writeFileAtomic(file, JSON.stringify(root), { createDirs: true });
  } catch {
    // A read-only home only costs a refresh next time.
  }
}

async function refreshFromTuf(timeoutMs: number, mirrorURL?: string): Promise<TrustedRootJSON | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
    timer.unref();
  });
  const attempt = (async () => {
    try {
      const [{ getTrustedRoot }, { TrustedRoot }] = await Promise.all([
        import('@sigstore/tuf'),
        import('@sigstore/protobuf-specs'),
      ]);
      const root = await getTrustedRoot({
        cachePath: tufCachePath(),
        retry: false,
        timeout: timeoutMs,
        ...(mirrorURL ? { mirrorURL } : {}),
      });
      const json = TrustedRoot.toJSON(root) as TrustedRootJSON;
      return trustedRootProblems(json).length === 0 ? json : undefined;
    } catch {
      // Offline, blocked or a TUF error: the embedded snapshot is the documented fallback.
      return undefined;
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tufCachePath(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'vouch', 'tuf');
}

/** Does the root list transparency logs? (GitHub's TSA-only instance has none.) */
export function hasTlogs(root: TrustedRootJSON): boolean {
  return (root.tlogs ?? []).length > 0;
}

export function hasCtlogs(root: TrustedRootJSON): boolean {
  return (root.ctlogs ?? []).length > 0;
}

/** Parses a PEM public key (SPKI, or PKCS#1 RSA); `source` names it in messages. Throws exit-2 errors. */
export function parsePublicKey(pem: string | Buffer, source: string): KeyObject {
  const text = pem.toString();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw badInput(
      'KEY_IS_PRIVATE',
      `${source} is a private key`,
      'pass the public key (.pub) for verification',
    );
  }
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw badInput(
      'KEY_INVALID',
      `${source} is not a PEM public key`,
      'pass a PEM file starting with -----BEGIN PUBLIC KEY-----',
    );
  }
  try {
    return createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    throw badInput('KEY_INVALID', `${source} is not a valid public key`, 'pass a PEM SPKI public key', err);
  }
}

/** Reads a PEM public key file. Throws exit-2 errors when it is unreadable or not a public key. */
export async function loadPublicKey(file: string): Promise<KeyObject> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    const ve = toVouchError(err);
    throw new VouchError('KEY_UNREADABLE', `cannot read public key ${file}: ${ve.message}`, {
      exitCode: 2,
      hint: 'check the --key path',
      cause: err,
    });
  }
  return parsePublicKey(text, file);
}
