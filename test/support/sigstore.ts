/**
 * A local Sigstore stack on loopback, for tests: one real node:http server on 127.0.0.1 serving
 *
 *   POST /api/v2/signingCert    Fulcio (mock CA with a CT log; the SCT is embedded)
 *   POST /api/v1/log/entries    Rekor v1 (hashedrekord, intoto, dsse — dsse entries are stored in
 *                               Rekor's canonical form, which @sigstore/mock does not do itself)
 *   POST /api/v2/log/entries    Rekor v2 (a small log of its own: @sigstore/mock's v2 answer has a
 *                               random index and a non-canonical body and does not verify)
 *   POST /api/v1/timestamp      RFC 3161 TSA (clock rounded to whole seconds, see NOTES.md)
 *   GET  /oidc/.well-known/openid-configuration, /oidc/jwks   an OIDC issuer for issueToken()
 *
 * built on @sigstore/mock's generators (deep imports: its index pulls in nock, which patches
 * node:http). API:
 *
 *   const stack = await startSigstoreStack({ tsa?: boolean = true });
 *   stack.url / fulcioUrl / rekorUrl / rekorV2Url / tsaUrl   service URLs (http://127.0.0.1:PORT…)
 *   stack.issuer                                             `iss` of issued tokens
 *   stack.trustedRoot / trustedRootPath                      Sigstore TrustedRoot JSON (and a file)
 *                                                            accepted by @sigstore/verify's toTrustMaterial
 *   stack.signingConfigPath                                  SigningConfig v0.2 file naming this stack
 *   stack.issueToken({sub?, iss?, aud?, exp?, email?, ...})  an ES256-signed OIDC JWT (default
 *                                                            sub/email signer@vouch.test, aud sigstore, exp +10 min)
 *   stack.faults.fulcio = 'down' | 500; faults.rekor = 'down' | 500; faults.tsa = 'down' | 500
 *   stack.requests                                           count of requests per service
 *   await stack.stop()
 */
import { createHash, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fulcio from '@sigstore/mock/dist/fulcio/index.js';
import rekor from '@sigstore/mock/dist/rekor/index.js';
import timestamp from '@sigstore/mock/dist/timestamp/index.js';

export type Fault = 'down' | 500;

export interface StackFaults {
  fulcio?: Fault;
  rekor?: Fault;
  tsa?: Fault;
}

export interface TokenClaimsInput {
  sub?: string;
  iss?: string;
  aud?: string | string[];
  exp?: number;
  email?: string;
  [claim: string]: unknown;
}

export interface SigstoreStack {
  url: string;
  fulcioUrl: string;
  rekorUrl: string;
  rekorV2Url: string;
  tsaUrl: string;
  issuer: string;
  trustedRoot: Record<string, unknown>;
  trustedRootPath: string;
  signingConfigPath: string;
  dir: string;
  issueToken(claims?: TokenClaimsInput): string;
  faults: StackFaults;
  requests: { fulcio: number; rekor: number; tsa: number; oidc: number };
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Name a TSA in the signing config (default true). */
  tsa?: boolean;
  /** The signing config names the Rekor v2 log instead of v1 (needs the TSA). */
  rekorV2?: boolean;
}

type HandlerFn = (
  body: string,
) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }>;

const DAY = 24 * 3600 * 1000;

export async function startSigstoreStack(opts: StackOptions = {}): Promise<SigstoreStack> {
  const routes = new Map<string, { service: keyof StackFaults; fn: HandlerFn }>();
  const faults: StackFaults = {};
  const requests = { fulcio: 0, rekor: 0, tsa: 0, oidc: 0 };
  const oidcKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const oidcKid = 'vouch-test-oidc';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname.startsWith('/oidc/')) {
        requests.oidc++;
        return oidcRoute(url.pathname, res);
      }
      const route = routes.get(url.pathname);
      if (!route || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      requests[route.service]++;
      const fault = faults[route.service];
      if (fault === 'down') {
        req.socket.destroy();
        return;
      }
      if (fault === 500) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"injected fault"}');
        return;
      }
      route
        .fn(Buffer.concat(chunks).toString('utf8'))
        .then(({ statusCode, response, contentType }) => {
          const body =
            typeof response === 'string'
              ? response
              : Buffer.from(response.buffer, response.byteOffset, response.byteLength);
          res.writeHead(statusCode, { 'content-type': contentType ?? 'text/plain' }).end(body);
        })
        .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const issuer = `${url}/oidc`;

  function oidcRoute(p: string, res: http.ServerResponse): void {
    if (p === '/oidc/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          jwks_uri: `${issuer}/jwks`,
          id_token_signing_alg_values_supported: ['ES256'],
        }),
      );
    } else if (p === '/oidc/jwks') {
      const jwk = oidcKey.publicKey.export({ format: 'jwk' });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [{ ...jwk, kid: oidcKid, alg: 'ES256', use: 'sig' }] }));
    } else res.writeHead(404).end();
  }

  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tlogKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tlogV2Keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tsaKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  const ctlog = await fulcio.initializeCTLog(ctKeys);
  const ca = await fulcio.initializeCA(caKeys, ctlog);
  const tlog = await rekor.initializeTLog(url, tlogKeys);
  const tsa = await timestamp.initializeTSA(tsaKeys);
  // The mock TSA writes genTime with fractional seconds and drops trailing zeros, which
  // @sigstore/core sometimes cannot parse ("invalid time"): keep its clock on whole seconds.
  (tsa as unknown as { getCurrentTime: () => Date }).getCurrentTime = () =>
    new Date(Math.floor(Date.now() / 1000) * 1000);

  routes.set('/api/v2/signingCert', { service: 'fulcio', fn: fulcio.fulcioHandler(ca).fn as HandlerFn });
  routes.set('/api/v1/log/entries', { service: 'rekor', fn: rekorV1Handler(tlog) });
  routes.set('/api/v2/log/entries', {
    service: 'rekor',
    fn: rekorV2Handler(`127.0.0.1:${port}`, tlogV2Keys),
  });
  routes.set('/api/v1/timestamp', { service: 'tsa', fn: timestamp.tsaHandler(tsa).fn as HandlerFn });

  const past = new Date(Date.now() - DAY).toISOString();
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  const b64 = (b: ArrayBufferView | Buffer) =>
    Buffer.from((b as Buffer).buffer, (b as Buffer).byteOffset, (b as Buffer).byteLength).toString('base64');
  const tlogEntry = (keys: { publicKey: KeyObject }) => ({
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: b64(spki(keys.publicKey)),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: past },
    },
    logId: { keyId: createHash('sha256').update(spki(keys.publicKey)).digest('base64') },
  });
  const trustedRoot: Record<string, unknown> = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [tlogEntry(tlogKeys), tlogEntry(tlogV2Keys)],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start: past },
      },
    ],
    ctlogs: [
      {
        baseUrl: url,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(ctlog.publicKey),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: past },
        },
        logId: { keyId: b64(ctlog.logID) },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: url,
        certChain: {
          certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }],
        },
        validFor: { start: past },
      },
    ],
  };
  const service = (u: string) => ({
    url: u,
    majorApiVersion: 1,
    validFor: { start: past },
    operator: 'vouch-test',
  });
  const signingConfig = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service(url)],
    oidcUrls: [service(issuer)],
    rekorTlogUrls: [{ ...service(url), majorApiVersion: opts.rekorV2 ? 2 : 1 }],
    tsaUrls: opts.tsa === false ? [] : [service(`${url}/api/v1/timestamp`)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-sigstore-'));
  const trustedRootPath = path.join(dir, 'trusted_root.json');
  const signingConfigPath = path.join(dir, 'signing_config.json');
  writeFileSync(trustedRootPath, JSON.stringify(trustedRoot, null, 2));
  writeFileSync(signingConfigPath, JSON.stringify(signingConfig, null, 2));

  function issueToken(claims: TokenClaimsInput = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: issuer,
      sub: 'signer@vouch.test',
      email: 'signer@vouch.test',
      email_verified: true,
      aud: 'sigstore',
      iat: now,
      nbf: now - 5,
      exp: now + 600,
      ...claims,
    };
    const header = { alg: 'ES256', typ: 'JWT', kid: oidcKid };
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const signingInput = `${enc(header)}.${enc(payload)}`;
    const sig = nodeSign('sha256', Buffer.from(signingInput), {
      key: oidcKey.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${signingInput}.${sig.toString('base64url')}`;
  }

  return {
    url,
    fulcioUrl: url,
    rekorUrl: url,
    rekorV2Url: url,
    tsaUrl: `${url}/api/v1/timestamp`,
    issuer,
    trustedRoot,
    trustedRootPath,
    signingConfigPath,
    dir,
    issueToken,
    faults,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Rekor v1 create-entry. Real Rekor stores a dsse entry in canonical form (hashes and
 * signatures, not the proposed envelope); @sigstore/verify checks that form, so convert here.
 */
function rekorV1Handler(tlog: { log(entry: object): Promise<unknown> }): HandlerFn {
  return async (body) => {
    let proposed: Record<string, unknown>;
    try {
      proposed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return { statusCode: 400, response: '{"message":"invalid JSON"}', contentType: 'application/json' };
    }
    const entry = proposed.kind === 'dsse' ? canonicalDsse(proposed) : proposed;
    const logged = await tlog.log(entry);
    return { statusCode: 201, response: JSON.stringify(logged), contentType: 'application/json' };
  };
}

function canonicalDsse(proposed: Record<string, unknown>): object {
  const content = (proposed.spec as { proposedContent: { envelope: string; verifiers: string[] } })
    .proposedContent;
  const env = JSON.parse(content.envelope) as { payload: string; signatures: { sig: string }[] };
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha(content.envelope) },
      payloadHash: { algorithm: 'sha256', value: sha(Buffer.from(env.payload, 'base64')) },
      signatures: env.signatures.map((s, i) => ({
        signature: s.sig,
        verifier: content.verifiers[i] ?? content.verifiers[0],
      })),
    },
  };
}

/**
 * Rekor v2 create-entry: a one-entry log per request (tree size 1, index 0), with the body in
 * Rekor v2's canonical form and a checkpoint signed by the log key, so that @sigstore/verify's
 * body, checkpoint and Merkle inclusion checks run for real.
 */
function rekorV2Handler(origin: string, keys: { publicKey: KeyObject; privateKey: KeyObject }): HandlerFn {
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const logId = createHash('sha256').update(spki).digest();
  return async (body) => {
    let req: {
      dsseRequestV002?: {
        envelope: { payload: string; signatures: { sig: string }[] };
        verifiers: unknown[];
      };
      hashedRekordRequestV002?: { digest: string; signature: unknown };
    };
    try {
      req = JSON.parse(body);
    } catch {
      return { statusCode: 400, response: '{"message":"invalid JSON"}', contentType: 'application/json' };
    }
    let entry: object;
    let kind: string;
    if (req.dsseRequestV002) {
      const { envelope, verifiers } = req.dsseRequestV002;
      kind = 'dsse';
      entry = {
        apiVersion: '0.0.2',
        kind,
        spec: {
          dsseV002: {
            payloadHash: {
              algorithm: 'SHA2_256',
              digest: createHash('sha256').update(Buffer.from(envelope.payload, 'base64')).digest('base64'),
            },
            signatures: envelope.signatures.map((sig) => ({ content: sig.sig, verifier: verifiers[0] })),
          },
        },
      };
    } else if (req.hashedRekordRequestV002) {
      kind = 'hashedrekord';
      entry = {
        apiVersion: '0.0.2',
        kind,
        spec: {
          hashedRekordV002: {
            data: { algorithm: 'SHA2_256', digest: req.hashedRekordRequestV002.digest },
            signature: req.hashedRekordRequestV002.signature,
          },
        },
      };
    } else {
      return {
        statusCode: 400,
        response: '{"message":"unsupported entry"}',
        contentType: 'application/json',
      };
    }
    const canonical = Buffer.from(canonicalJson(entry));
    const root = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), canonical]))
      .digest();
    const note = `${origin}\n1\n${root.toString('base64')}\n`;
    const sig = nodeSign('sha256', Buffer.from(note), keys.privateKey);
    const checkpoint = `${note}\n\u2014 ${origin} ${Buffer.concat([logId.subarray(0, 4), sig]).toString('base64')}\n`;
    const response = {
      logIndex: '0',
      logId: { keyId: logId.toString('base64') },
      kindVersion: { kind, version: '0.0.2' },
      integratedTime: '0',
      inclusionProof: {
        logIndex: '0',
        rootHash: root.toString('base64'),
        treeSize: '1',
        hashes: [],
        checkpoint: { envelope: checkpoint },
      },
      canonicalizedBody: canonical.toString('base64'),
    };
    return { statusCode: 201, response: JSON.stringify(response), contentType: 'application/json' };
  };
}

/** JSON with object keys sorted (RFC 8785 for the values used here). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
