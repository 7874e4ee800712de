/**
 * Signers: who signs (a key file, a key plus an organisation CA certificate, or an ephemeral
 * key certified by Fulcio for an OIDC identity) and which witnesses (Rekor, TSA) countersign.
 * `@sigstore/sign` is loaded lazily: it costs ~270 ms and only signing paths need it.
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Signer as SigstoreSigner, Witness } from '@sigstore/sign';
import { badInput, ioFailure, VouchError } from '../errors.js';
import { keyHint, loadPrivateKey, type KeyType, type SigningKey } from './keys.js';
import { resolveIdentityToken, tokenIdentity, type IdentityToken } from './oidc.js';
import {
  checkUrl,
  PUBLIC_GOOD,
  readSigningConfig,
  type SigningServices,
  type TlogService,
} from './services.js';

export type SignerSpec =
  | {
      kind: 'key';
      keyPath: string;
      password?: string;
      /** PEM file: leaf certificate for the key, then its chain (organisation CA). */
      certificatePath?: string;
      /** Also record the signature in a Rekor log (public-good unless `rekorUrl`). */
      tlogUpload?: boolean;
      rekorUrl?: string;
      /** Add an RFC 3161 timestamp from this TSA (required with a certificate unless tlogUpload). */
      tsaUrl?: string;
    }
  | {
      kind: 'keyless';
      identityToken?: string;
      fulcioUrl?: string;
      rekorUrl?: string;
      tsaUrl?: string;
      signingConfigPath?: string;
      env?: NodeJS.ProcessEnv;
    };

/** What goes into the bundle's verification material. */
export type KeyMaterial =
  | { $case: 'x509Certificate'; certificate: string /* leaf PEM */ }
  | { $case: 'publicKey'; publicKey: string /* SPKI PEM, never written */; hint: string };

/** A signer ready to sign: the key, what the bundle carries, and the witnesses to call. */
export interface PreparedSigner {
  key: SigningKey;
  material: KeyMaterial;
  witnesses: Witness[];
  /** Human identity: certificate SAN (keyless, CA) or key hint. */
  signer: string;
  issuer?: string;
  /** Names of the services the signature went through, for error messages and --json. */
  services: { fulcio?: string; rekor?: string; tsa?: string };
}

/** Network behaviour for the Sigstore services: a few quick retries on 5xx and resets. */
const FETCH = { timeout: 30_000, retry: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 } };

export async function prepareSigner(spec: SignerSpec): Promise<PreparedSigner> {
  return spec.kind === 'key' ? prepareKeySigner(spec) : prepareKeylessSigner(spec);
}

async function prepareKeySigner(spec: Extract<SignerSpec, { kind: 'key' }>): Promise<PreparedSigner> {
  const key = await loadPrivateKey(spec.keyPath, spec.password);
  const witnesses: Witness[] = [];
  const services: PreparedSigner['services'] = {};
  if (spec.tlogUpload) {
    const rekorUrl = spec.rekorUrl ?? PUBLIC_GOOD.rekorUrl;
    checkUrl(rekorUrl, '--rekor-url', 'Rekor');
    services.rekor = rekorUrl;
    witnesses.push(await rekorWitness({ url: rekorUrl, majorApiVersion: 1 }));
  }
  if (spec.tsaUrl) {
    checkUrl(spec.tsaUrl, '--tsa-url', 'TSA');
    services.tsa = spec.tsaUrl;
    witnesses.push(await tsaWitness(spec.tsaUrl));
  }
  if (!spec.certificatePath) {
    return {
      key,
      material: { $case: 'publicKey', publicKey: key.publicKeyPem, hint: key.hint },
      witnesses,
      signer: `key ${key.hint}`,
      services,
    };
  }
  if (!spec.tlogUpload && !spec.tsaUrl) {
    // A certificate is only valid for a time window; a verifier needs a signed time to check it.
    throw badInput(
      'CERT_NEEDS_TIMESTAMP',
      'a certificate-bound signature needs a signed timestamp',
      'add --tsa-url URL (your RFC 3161 TSA) or --tlog-upload',
    );
  }
  const { leaf } = await readCertificateChain(spec.certificatePath);
  const certKey = createPublicKey(leaf.publicKey.export({ type: 'spki', format: 'pem' }));
  if (keyHint(certKey) !== key.hint) {
    throw badInput(
      'CERT_KEY_MISMATCH',
      `the certificate in ${spec.certificatePath} is not for the key ${spec.keyPath}`,
      'the first certificate in the file must be the leaf issued for this private key',
    );
  }
  return {
    key,
    material: { $case: 'x509Certificate', certificate: leaf.toString() },
    witnesses,
    signer: certificateIdentity(leaf),
    issuer: leaf.issuer.replace(/\n/g, ', '),
    services,
  };
}

async function prepareKeylessSigner(spec: Extract<SignerSpec, { kind: 'keyless' }>): Promise<PreparedSigner> {
  // Token first: an expired or mis-scoped token must fail before any service is contacted.
  const token = await resolveIdentityToken(spec.identityToken, spec.env ?? process.env);
  const services = await keylessServices(spec);
  const fulcioUrl = services.fulcioUrl ?? PUBLIC_GOOD.fulcioUrl;
  const tlog = services.tlog ?? { url: PUBLIC_GOOD.rekorUrl, majorApiVersion: 1 };
  if (tlog.majorApiVersion === 2 && !services.tsaUrl) {
    throw badInput(
      'SIGNING_CONFIG',
      'Rekor v2 entries carry no timestamp of their own: a TSA is required',
      'add a TSA to the signing config or pass --tsa-url',
    );
  }
  const key = ephemeralKey();
  const certificate = await fulcioCertificate(key, token, fulcioUrl);
  const witnesses: Witness[] = [await rekorWitness(tlog)];
  if (services.tsaUrl) witnesses.push(await tsaWitness(services.tsaUrl));
  const leaf = new X509Certificate(certificate);
  return {
    key,
    material: { $case: 'x509Certificate', certificate },
    witnesses,
    signer: certificateIdentity(leaf) || tokenIdentity(token.claims),
    issuer: typeof token.claims.iss === 'string' ? token.claims.iss : undefined,
    services: { fulcio: fulcioUrl, rekor: tlog.url, tsa: services.tsaUrl },
  };
}

async function keylessServices(spec: Extract<SignerSpec, { kind: 'keyless' }>): Promise<SigningServices> {
  const fromConfig: SigningServices = spec.signingConfigPath
    ? await readSigningConfig(spec.signingConfigPath)
    : {};
  if (spec.fulcioUrl) checkUrl(spec.fulcioUrl, '--fulcio-url', 'Fulcio');
  if (spec.rekorUrl) checkUrl(spec.rekorUrl, '--rekor-url', 'Rekor');
  if (spec.tsaUrl) checkUrl(spec.tsaUrl, '--tsa-url', 'TSA');
  return {
    fulcioUrl: spec.fulcioUrl ?? fromConfig.fulcioUrl,
    tlog: spec.rekorUrl ? { url: spec.rekorUrl, majorApiVersion: 1 } : fromConfig.tlog,
    tsaUrl: spec.tsaUrl ?? fromConfig.tsaUrl,
  };
}

function ephemeralKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    type: 'p256' as KeyType,
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    hint: keyHint(publicKey),
  };
}

/** Asks Fulcio for a certificate binding the ephemeral key to the token's identity. */
async function fulcioCertificate(key: SigningKey, token: IdentityToken, fulcioUrl: string): Promise<string> {
  const { FulcioSigner } = await import('@sigstore/sign');
  const keyHolder: SigstoreSigner = {
    sign: async (data) => ({
      signature: nodeSign('sha256', data, key.privateKey),
      key: { $case: 'publicKey', publicKey: key.publicKeyPem },
    }),
  };
  const fulcio = new FulcioSigner({
    fulcioBaseURL: fulcioUrl,
    identityProvider: { getToken: async () => token.token },
    keyHolder,
    ...FETCH,
  });
  try {
    // FulcioSigner signs what it is given with the certified key; the proof-of-possession
    // round-trip is what we want here, the signature over an empty buffer is discarded.
    const sig = await fulcio.sign(Buffer.alloc(0));
    if (sig.key.$case !== 'x509Certificate') throw new Error('Fulcio returned no certificate');
    return sig.key.certificate;
  } catch (err) {
    throw serviceError(err, 'Fulcio', fulcioUrl);
  }
}

async function rekorWitness(tlog: TlogService): Promise<Witness> {
  const { RekorWitness } = await import('@sigstore/sign');
  const inner = new RekorWitness({
    rekorBaseURL: tlog.url,
    majorApiVersion: tlog.majorApiVersion,
    ...FETCH,
    timeout: tlog.majorApiVersion === 2 ? 60_000 : FETCH.timeout,
  });
  return {
    testify: async (content, publicKey) => {
      try {
        return await inner.testify(content, publicKey);
      } catch (err) {
        throw serviceError(err, 'Rekor', tlog.url);
      }
    },
  };
}

async function tsaWitness(url: string): Promise<Witness> {
  const { TSAWitness } = await import('@sigstore/sign');
  const inner = new TSAWitness({ tsaBaseURL: url, ...FETCH });
  return {
    testify: async (content) => {
      try {
        return await inner.testify(content);
      } catch (err) {
        throw serviceError(err, 'TSA', url);
      }
    },
  };
}

/**
 * Maps a failure of a Sigstore service to one line naming the service. The upstream message
 * is not reused verbatim: @sigstore/sign puts the identity token into some of its messages.
 */
export function serviceError(err: unknown, service: 'Fulcio' | 'Rekor' | 'TSA', url: string): VouchError {
  if (err instanceof VouchError) return err;
  const status = httpStatus(err);
  const netCode = networkCode(err);
  const origin = safeOrigin(url);
  if (status === 401 || status === 403) {
    return badInput(
      `${service.toUpperCase()}_REJECTED`,
      `${service} at ${origin} rejected the request (HTTP ${status})`,
      service === 'Fulcio'
        ? 'check that the identity token is valid for this Fulcio instance'
        : 'check the service URL',
      err,
    );
  }
  const why = status ? `HTTP ${status}` : netCode ? netCode : 'request failed';
  return ioFailure(
    `${service.toUpperCase()}_UNAVAILABLE`,
    `${service} at ${origin} failed: ${why}`,
    `check that ${service} is reachable and retry`,
    err,
  );
}

function httpStatus(err: unknown): number | undefined {
  for (
    let e = err as { statusCode?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

function networkCode(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return u.origin;
  } catch {
    return '(invalid URL)';
  }
}

/** The first URI or email SAN of a certificate, else its subject. */
export function certificateIdentity(cert: X509Certificate): string {
  const san = cert.subjectAltName ?? '';
  for (const part of san.split(/,\s*/)) {
    const m = /^(URI|email):(.*)$/.exec(part);
    if (m?.[2]) return m[2];
  }
  return cert.subject.replace(/\n/g, ', ');
}

/** Reads a PEM file holding a leaf certificate followed by its chain. */
export async function readCertificateChain(
  file: string,
): Promise<{ leaf: X509Certificate; chain: X509Certificate[] }> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(
      'CERT_UNREADABLE',
      `cannot read certificate ${file}: ${(err as Error).message}`,
      undefined,
      err,
    );
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw badInput(
      'CERT_FORMAT',
      `no PEM certificate in ${file}`,
      'give the leaf certificate (then its chain) in PEM',
    );
  }
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw badInput('CERT_FORMAT', `cannot parse a certificate in ${file}`, undefined, err);
  }
  const [leaf, ...chain] = certs as [X509Certificate, ...X509Certificate[]];
  return { leaf, chain };
}
