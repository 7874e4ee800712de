import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  generateKeyPair,
  imageSignatureStatement,
  signFile,
  signStatement,
  writeKeyPair,
  type SignerSpec,
} from '../../src/signing/index.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';
import { makeOrgCa, type OrgCa } from '../support/sigstore-ca.js';
import { describeV03, verifyIndependently } from '../support/sigstore-verify.js';

let stack: SigstoreStack;
let ca: OrgCa;
let dir: string;
let key: { path: string; pub: string };
const digest = 'sha256:' + '12'.repeat(32);
const st = () => imageSignatureStatement('reg.test/app', digest);

beforeAll(async () => {
  stack = await startSigstoreStack();
  ca = makeOrgCa();
  dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-svc-'));
  const pair = await generateKeyPair({ type: 'p256' });
  const w = await writeKeyPair(dir, pair);
  key = { path: w.privateKeyPath, pub: pair.publicKeyPem };
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  stack.faults.fulcio = undefined;
  stack.faults.rekor = undefined;
  stack.faults.tsa = undefined;
});

const keyless = (over: Partial<Extract<SignerSpec, { kind: 'keyless' }>> = {}): SignerSpec => ({
  kind: 'keyless',
  identityToken: stack.issueToken(),
  fulcioUrl: stack.fulcioUrl,
  rekorUrl: stack.rekorUrl,
  tsaUrl: stack.tsaUrl,
  env: {},
  ...over,
});

describe('key-based signing with a transparency log', () => {
  it('--tlog-upload records a DSSE entry in Rekor; the bundle verifies with the log in the trusted root', async () => {
    const r = await signStatement(st(), {
      kind: 'key',
      keyPath: key.path,
      tlogUpload: true,
      rekorUrl: stack.rekorUrl,
    });
    expect(describeV03(r.bundle)).toMatchObject({ key: 'publicKey', tlogEntries: 1 });
    expect(r.bundle.verificationMaterial.tlogEntries[0]!.kindVersion).toEqual({
      kind: 'dsse',
      version: '0.0.1',
    });
    verifyIndependently(r.bundle, {
      trustedRoot: stack.trustedRoot,
      publicKeyPem: key.pub,
      tlogThreshold: 1,
    });
  });

  it('message signature with a hashedrekord entry verifies', async () => {
    const f = path.join(dir, 'fn.zip');
    writeFileSync(f, Buffer.alloc(2 * 1024 * 1024, 3));
    const r = await signFile(f, {
      kind: 'key',
      keyPath: key.path,
      tlogUpload: true,
      rekorUrl: stack.rekorUrl,
    });
    expect(r.bundle.verificationMaterial.tlogEntries[0]!.kindVersion!.kind).toBe('hashedrekord');
    verifyIndependently(r.bundle, {
      trustedRoot: stack.trustedRoot,
      publicKeyPem: key.pub,
      artifact: Buffer.alloc(2 * 1024 * 1024, 3),
      tlogThreshold: 1,
    });
  });
});

describe('organisation CA certificate', () => {
  it('carries the leaf certificate; verifies against a trusted root holding the CA (TSA timestamp)', async () => {
    const chain = ca.issue(key.path, 'email:release@acme.test');
    const r = await signStatement(st(), {
      kind: 'key',
      keyPath: key.path,
      certificatePath: chain,
      tsaUrl: stack.tsaUrl,
    });
    expect(describeV03(r.bundle)).toMatchObject({ key: 'certificate', tlogEntries: 0, timestamps: 1 });
    expect(r.signer).toBe('release@acme.test');
    const root = { ...stack.trustedRoot, certificateAuthorities: [ca.trustEntry()] };
    const { signer } = verifyIndependently(r.bundle, { trustedRoot: root, timestampThreshold: 1 });
    expect(signer.identity?.subjectAlternativeName).toBe('release@acme.test');
    // Without the CA in the trusted root the same bundle is refused.
    expect(() =>
      verifyIndependently(r.bundle, { trustedRoot: stack.trustedRoot, timestampThreshold: 1 }),
    ).toThrow();
  });

  it('message signature with the CA certificate and a Rekor entry verifies', async () => {
    const chain = ca.issue(key.path, 'URI:https://ci.acme.test/release');
    const f = path.join(dir, 'ca.zip');
    writeFileSync(f, 'package bytes');
    const r = await signFile(f, {
      kind: 'key',
      keyPath: key.path,
      certificatePath: chain,
      tlogUpload: true,
      rekorUrl: stack.rekorUrl,
    });
    const root = { ...stack.trustedRoot, certificateAuthorities: [ca.trustEntry()] };
    verifyIndependently(r.bundle, {
      trustedRoot: root,
      artifact: Buffer.from('package bytes'),
      tlogThreshold: 1,
    });
  });

  it('a certificate for another key is refused before any network call (exit 2)', async () => {
    const other = await writeKeyPair(mkdtempSync(path.join(dir, 'o-')), await generateKeyPair());
    const chain = ca.issue(other.privateKeyPath, 'email:other@acme.test');
    const before = { ...stack.requests };
    await expect(
      signStatement(st(), { kind: 'key', keyPath: key.path, certificatePath: chain, tsaUrl: stack.tsaUrl }),
    ).rejects.toMatchObject({ code: 'CERT_KEY_MISMATCH', exitCode: 2 });
    expect(stack.requests).toEqual(before);
  });

  it('a certificate without any signed time source is refused', async () => {
    const chain = ca.issue(key.path, 'email:release@acme.test');
    await expect(
      signStatement(st(), { kind: 'key', keyPath: key.path, certificatePath: chain }),
    ).rejects.toMatchObject({
      code: 'CERT_NEEDS_TIMESTAMP',
      exitCode: 2,
    });
  });
});

describe('keyless failures', () => {
  it('an expired token fails with exit 2 before any service is contacted', async () => {
    const before = { ...stack.requests };
    const exp = Math.floor(Date.now() / 1000) - 7200;
    await expect(
      signStatement(st(), keyless({ identityToken: stack.issueToken({ exp }) })),
    ).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
      exitCode: 2,
    });
    await expect(
      signStatement(st(), keyless({ identityToken: stack.issueToken({ aud: 'other' }) })),
    ).rejects.toMatchObject({
      code: 'TOKEN_AUDIENCE',
      exitCode: 2,
    });
    expect(stack.requests).toEqual(before);
  });

  it('Fulcio down → exit 3 naming Fulcio; Rekor and TSA are never called', async () => {
    stack.faults.fulcio = 'down';
    const before = { ...stack.requests };
    const err = await signStatement(st(), keyless()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FULCIO_UNAVAILABLE', exitCode: 3 });
    expect((err as Error).message).toMatch(new RegExp(`^Fulcio at ${stack.url} failed`));
    expect(stack.requests.rekor).toBe(before.rekor);
    expect(stack.requests.tsa).toBe(before.tsa);
  });

  it('Fulcio 500 → exit 3 after a few retries; the token never appears in the message', async () => {
    stack.faults.fulcio = 500;
    const token = stack.issueToken();
    const err = (await signStatement(st(), keyless({ identityToken: token })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toMatchObject({ code: 'FULCIO_UNAVAILABLE', exitCode: 3 });
    expect(err.message).toContain('HTTP 500');
    expect(err.message + ((err as { hint?: string }).hint ?? '')).not.toContain(token.split('.')[1]!);
  });

  it('Rekor 500 → exit 3 naming Rekor', async () => {
    stack.faults.rekor = 500;
    await expect(signStatement(st(), keyless())).rejects.toMatchObject({
      code: 'REKOR_UNAVAILABLE',
      exitCode: 3,
    });
  });

  it('TSA 500 → exit 3 naming the TSA', async () => {
    stack.faults.tsa = 500;
    await expect(signStatement(st(), keyless())).rejects.toMatchObject({
      code: 'TSA_UNAVAILABLE',
      exitCode: 3,
    });
  });

  it('Rekor v2 in a signing config without a TSA is refused (v2 entries carry no timestamp)', async () => {
    const cfg = path.join(dir, 'v2.json');
    const past = new Date(Date.now() - 86400_000).toISOString();
    writeFileSync(
      cfg,
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
        caUrls: [{ url: stack.fulcioUrl, majorApiVersion: 1, validFor: { start: past } }],
        rekorTlogUrls: [{ url: stack.rekorV2Url, majorApiVersion: 2, validFor: { start: past } }],
        tsaUrls: [],
        rekorTlogConfig: { selector: 'ANY' },
        tsaConfig: { selector: 'ANY' },
      }),
    );
    await expect(
      signStatement(st(), {
        kind: 'keyless',
        identityToken: stack.issueToken(),
        signingConfigPath: cfg,
        env: {},
      }),
    ).rejects.toMatchObject({ code: 'SIGNING_CONFIG', exitCode: 2 });
  });
});

describe('GitHub Actions token endpoint', () => {
  it('asks for audience sigstore with the request token and signs with the returned token', async () => {
    let seen: { audience: string | null; auth: string | undefined } | undefined;
    const srv = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen = { audience: u.searchParams.get('audience'), auth: req.headers.authorization };
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          value: stack.issueToken({
            sub: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
          }),
        }),
      );
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const r = await signStatement(st(), {
        kind: 'keyless',
        fulcioUrl: stack.fulcioUrl,
        rekorUrl: stack.rekorUrl,
        env: {
          ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0`,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token',
        },
      });
      expect(seen).toEqual({ audience: 'sigstore', auth: 'bearer runner-request-token' });
      expect(r.signer).toBe('https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main');
      verifyIndependently(r.bundle, {
        trustedRoot: stack.trustedRoot,
        tlogThreshold: 1,
        ctlogThreshold: 1,
        timestampThreshold: 1,
      });
    } finally {
      srv.close();
    }
  });
});
