import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import {
  embeddedTrustedRoot,
  loadPublicKey,
  loadTrustedRoot,
  trustedRootProblems,
  type TrustedRootJSON,
} from '../../src/trust/index.js';
import { verifyBundle, type ArtifactInput } from '../../src/verify/bundle.js';
import { trustOptions, identityFromFlags } from '../../cli/flags/trust.js';

const CORPORA = path.resolve(__dirname, '../../../shared/corpora');
const PROD = path.join(
  CORPORA,
  'sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json',
);
const CASES = path.join(CORPORA, 'sigstore-conformance/test/assets/bundle-verify');
const ID =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISS = 'https://token.actions.githubusercontent.com';
const identities = [{ subject: ID, issuer: ISS }];
const artifact: ArtifactInput = { kind: 'file', path: path.join(CASES, 'a.txt') };
const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-trust-'));

let root: TrustedRootJSON;
beforeAll(async () => {
  root = await loadTrustedRoot({ offline: true });
});

async function rejects(p: Promise<unknown>): Promise<VouchError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VouchError);
    return e as VouchError;
  }
  throw new Error('expected a rejection');
}

describe('loadTrustedRoot', () => {
  it('offline, is the embedded production snapshot (same content as the corpora copy)', async () => {
    expect(root).toEqual(JSON.parse(readFileSync(PROD, 'utf8')));
    expect(await embeddedTrustedRoot()).toBe(root);
  });
  it('honours VOUCH_OFFLINE=1', async () => {
    const before = process.env.VOUCH_OFFLINE;
    process.env.VOUCH_OFFLINE = '1';
    try {
      expect(await loadTrustedRoot()).toEqual(root);
    } finally {
      if (before === undefined) delete process.env.VOUCH_OFFLINE;
      else process.env.VOUCH_OFFLINE = before;
    }
  });
  it('reads a file and refuses unreadable or invalid ones with exit 2', async () => {
    const gh = await loadTrustedRoot({
      file: path.join(CORPORA, 'sigstore-rust/crates/sigstore-trust-root/src/trusted_root_github.json'),
    });
    expect(gh.tlogs ?? []).toHaveLength(0);
    expect((await rejects(loadTrustedRoot({ file: path.join(dir, 'missing.json') }))).exitCode).toBe(2);
    writeFileSync(path.join(dir, 'bad.json'), '{"tlogs":');
    expect((await rejects(loadTrustedRoot({ file: path.join(dir, 'bad.json') }))).exitCode).toBe(2);
    writeFileSync(path.join(dir, 'empty.json'), '{}');
    expect((await rejects(loadTrustedRoot({ file: path.join(dir, 'empty.json') }))).message).toContain(
      'no certificate authorities',
    );
  });
  it('refuses a transparency log without validFor.start (never "valid since forever")', async () => {
    const e = await rejects(
      loadTrustedRoot({
        file: path.join(CASES, 'trust-root-tlog-missing-validity-start_fail/trusted_root.json'),
      }),
    );
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('tlogs[1].publicKey.validFor.start missing');
  });
  it('accepts an explicit null end (open interval)', () => {
    expect(
      trustedRootProblems(
        JSON.parse(
          readFileSync(path.join(CASES, 'trust-root-tlog-validity-end-inclusive/trusted_root.json'), 'utf8'),
        ),
      ),
    ).toEqual([]);
  });
  it('lists every authority kind that lacks a start', () => {
    const r = structuredClone(root) as TrustedRootJSON;
    delete r.certificateAuthorities![0]!.validFor!.start;
    delete r.ctlogs![0]!.publicKey!.validFor!.start;
    delete r.timestampAuthorities![0]!.validFor!.start;
    expect(trustedRootProblems(r)).toEqual([
      'ctlogs[0].publicKey.validFor.start missing or invalid',
      'certificateAuthorities[0].validFor.start missing or invalid',
      'timestampAuthorities[0].validFor.start missing or invalid',
    ]);
  });
});

describe('verifyBundle and the trusted root', () => {
  const bundle = JSON.parse(
    readFileSync(path.join(CASES, 'happy-path-v0.3/bundle.sigstore.json'), 'utf8'),
  ) as unknown;
  it('fails a root that lacks a validity start even when built in code', async () => {
    const r = structuredClone(root) as TrustedRootJSON;
    delete r.tlogs![0]!.publicKey!.validFor!.start;
    const out = await verifyBundle(bundle, artifact, { trustedRoot: r, identities });
    expect(out.report.ok).toBe(false);
    expect(out.report.checks.at(-1)?.name).toBe('trusted-root');
  });
  it('refuses a log entry from a log the root does not name', async () => {
    const r = structuredClone(root) as TrustedRootJSON;
    r.tlogs = [];
    const out = await verifyBundle(bundle, artifact, { trustedRoot: r, identities });
    expect(out.report.error).toBe('log entry from unknown log wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=');
  });
  it('requires a verified timestamp when the root has no logs (GitHub instance thresholds)', async () => {
    const r = structuredClone(root) as TrustedRootJSON;
    const tsaOnly = structuredClone(bundle) as { verificationMaterial: { tlogEntries: unknown[] } };
    tsaOnly.verificationMaterial.tlogEntries = [];
    r.tlogs = [];
    const out = await verifyBundle(tsaOnly, artifact, { trustedRoot: r, identities });
    expect(out.report.ok).toBe(false);
    expect(out.report.checks.at(-1)?.name).toBe('timestamps');
  });
  it('refuses a bundle that piles up log entries', async () => {
    const many = structuredClone(bundle) as { verificationMaterial: { tlogEntries: unknown[] } };
    many.verificationMaterial.tlogEntries = Array.from(
      { length: 17 },
      () => many.verificationMaterial.tlogEntries[0],
    );
    const out = await verifyBundle(many, artifact, { trustedRoot: root, identities });
    expect(out.report.error).toBe('bundle has more than 16 log entries or timestamps');
  });
  it('requires a log entry when the root has logs, even with a verified TSA timestamp', async () => {
    const c = path.join(CASES, 'rekor2-happy-path');
    const trustedRoot = await loadTrustedRoot({ file: path.join(c, 'trusted_root.json') });
    const b = JSON.parse(readFileSync(path.join(c, 'bundle.sigstore.json'), 'utf8')) as {
      verificationMaterial: { tlogEntries: unknown[] };
    };
    expect((await verifyBundle(b, artifact, { trustedRoot, identities })).report.ok).toBe(true);
    b.verificationMaterial.tlogEntries = [];
    const out = await verifyBundle(b, artifact, { trustedRoot, identities });
    expect(out.report.error).toBe('expected entries from 1 transparency log(s), got 0');
  });
});

describe('public keys and trust flags', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = path.join(dir, 'k.pub');
  const priv = path.join(dir, 'k.key');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  it('loads a PEM SPKI key', async () => {
    expect((await loadPublicKey(pub)).asymmetricKeyType).toBe('ec');
  });
  it('refuses private keys, garbage and missing files with exit 2 and no key material in the message', async () => {
    const e = await rejects(loadPublicKey(priv));
    expect(e.exitCode).toBe(2);
    expect(e.message).not.toContain('PRIVATE KEY-----\n');
    expect(
      (await rejects(loadPublicKey(path.join(CASES, 'managed-key-wrong-key_fail/key.pub')))).exitCode,
    ).toBe(2);
    expect((await rejects(loadPublicKey(path.join(dir, 'nope.pub')))).exitCode).toBe(2);
  });
  it('builds TrustOptions from flags', async () => {
    const t = await trustOptions({ key: [pub], offline: true, 'require-tlog': true });
    expect(t.keys?.[0]?.id).toBe(pub);
    expect(t.requireTlog).toBe(true);
    expect(t.identities).toBeUndefined();
    const k = await trustOptions({
      'certificate-identity-regexp': 'https://github\\.com/acme/.*',
      'certificate-oidc-issuer': ISS,
      offline: true,
    });
    expect(k.identities).toEqual([{ subjectRegexp: 'https://github\\.com/acme/.*', issuer: ISS }]);
  });
  it('refuses half an identity in flags (exit 2)', () => {
    expect(() => identityFromFlags({ 'certificate-identity': ID })).toThrow(/without its OIDC issuer/);
    expect(() => identityFromFlags({ 'certificate-oidc-issuer': ISS })).toThrow(/without a signer identity/);
    expect(identityFromFlags({})).toBeUndefined();
  });
});

describe('TUF refresh is never required', () => {
  it('falls back to the embedded root when the TUF mirror hangs or fails (loopback mirrors)', async () => {
    const http = await import('node:http');
    const { mkdirSync } = await import('node:fs');
    const hits = { hanging: 0, failing: 0 };
    const hanging = http.createServer(() => {
      hits.hanging++;
    });
    const failing = http.createServer((_req, res) => {
      hits.failing++;
      res.writeHead(500).end();
    });
    const listen = (s: typeof hanging) =>
      new Promise<string>((resolve) =>
        s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`)),
      );
    const before = process.env.XDG_CACHE_HOME;
    const cache = mkdtempSync(path.join(os.tmpdir(), 'vouch-tuf-'));
    process.env.XDG_CACHE_HOME = cache;
    // Seed the TUF cache with the public-good TUF root so that the client goes to the mirror.
    const seeds = JSON.parse(
      readFileSync(path.join(CORPORA, 'sigstore-js/packages/tuf/seeds.json'), 'utf8'),
    ) as Record<string, { 'root.json': string }>;
    const tufRoot = Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!['root.json'], 'base64');
    try {
      for (const mirrorUrl of [await listen(hanging), await listen(failing)]) {
        const repoDir = path.join(cache, 'vouch', 'tuf', encodeURIComponent(new URL(mirrorUrl).host));
        mkdirSync(repoDir, { recursive: true });
        writeFileSync(path.join(repoDir, 'root.json'), tufRoot);
        expect(await loadTrustedRoot({ mirrorUrl, refreshTimeoutMs: 300 })).toEqual(root);
      }
      expect(hits.hanging).toBeGreaterThan(0);
      expect(hits.failing).toBeGreaterThan(0);
    } finally {
      if (before === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = before;
      hanging.closeAllConnections();
      hanging.close();
      failing.close();
    }
  });
});
