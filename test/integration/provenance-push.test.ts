/**
 * `runProvenance` with --sign --push against a real registry (Debian docker-registry, no
 * referrers API: the tag-schema fallback) and an OCI image layout: both bundles end up as
 * referrers of the image, byte-identical to the files written with --out.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDssePayload, statementBindsDigest } from '../../src/attestation/index.js';
import { discoverBundles } from '../../src/bundles/index.js';
import { openStore, parseReference, type Descriptor, type Store } from '../../src/oci/index.js';
import { runProvenance } from '../../src/provenance/index.js';
import { generateKeyPair } from '../../src/signing/index.js';
import { pushPlatformImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { ROOT } from '../support/cli.js';

const SCAN = path.join(ROOT, 'test/fixtures/scans/trivy-image.json');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vouch-prov-push-'));
let reg: TestRegistry;
let keyPath: string;

beforeAll(async () => {
  reg = await startRegistry({ name: 'provenance' });
  const pair = await generateKeyPair({ type: 'p256' });
  keyPath = path.join(tmp, 'vouch.key');
  writeFileSync(keyPath, pair.privateKeyPem, { mode: 0o600 });
});
afterAll(async () => {
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function image(ref: string): Promise<{ store: Store; manifest: Descriptor }> {
  const store = await openStore(parseReference(ref), { plainHttp: true });
  const { manifest } = await pushPlatformImage(store, 'amd64', 2048, 'v1');
  return { store, manifest };
}

const PREDICATES = ['https://slsa.dev/provenance/v1', 'https://in-toto.io/attestation/vulns/v0.2'];

for (const kind of ['registry', 'layout'] as const) {
  describe(`--sign --push to ${kind === 'registry' ? 'a registry' : 'an OCI layout'}`, () => {
    it('attaches the provenance and vulns bundles to the image, identical to the --out files', async () => {
      const ref = kind === 'registry' ? `${reg.host}/acme/widget:v1` : `oci:${path.join(tmp, 'layout')}:v1`;
      const { store, manifest } = await image(ref);
      const out = path.join(tmp, `${kind}.sigstore.json`);
      const outcome = await runProvenance({
        subjects: [ref],
        registry: { plainHttp: true },
        env: {
          GITHUB_ACTIONS: 'true',
          GITHUB_REPOSITORY: 'acme/widget',
          GITHUB_SHA: 'c'.repeat(40),
          GITHUB_RUN_ID: '5',
        },
        sourceDir: tmp,
        scan: { path: SCAN, format: 'trivy' },
        out,
        sign: { kind: 'key', keyPath, tlogUpload: false },
        push: true,
      });
      expect(outcome.subjects[0]?.subject.digest.sha256).toBe(manifest.digest.slice('sha256:'.length));
      expect(outcome.pushed.map((p) => p.predicateType).sort()).toEqual([...PREDICATES].sort());

      const found = await discoverBundles(store, manifest);
      const predicateOf = (b: (typeof found)[number]) =>
        b.referrer.annotations?.['dev.sigstore.bundle.predicateType'];
      expect(found.map(predicateOf).sort()).toEqual([...PREDICATES].sort());
      const files = {
        [PREDICATES[0]!]: readFileSync(out),
        [PREDICATES[1]!]: readFileSync(path.join(tmp, `${kind}.vulns.sigstore.json`)),
      };
      for (const b of found) {
        expect(b.bytes?.equals(files[predicateOf(b)!]!)).toBe(true);
        const bundle = JSON.parse(b.bytes!.toString('utf8')) as {
          dsseEnvelope: { payloadType: string; payload: string };
        };
        const st = decodeDssePayload(bundle.dsseEnvelope);
        expect(statementBindsDigest(st, 'sha256', manifest.digest.slice(7))).toBe(true);
      }
    });
  });
}

describe('refusals', () => {
  it('--push without --sign, or with only file subjects, is bad input and pushes nothing', async () => {
    const file = path.join(tmp, 'fn.zip');
    writeFileSync(file, 'zip');
    await expect(
      runProvenance({ subjects: [file], env: {}, sourceDir: tmp, push: true }),
    ).rejects.toMatchObject({ exitCode: 2, code: 'PUSH_NEEDS_SIGN' });
    await expect(
      runProvenance({
        subjects: [file],
        env: {},
        sourceDir: tmp,
        push: true,
        sign: { kind: 'key', keyPath, tlogUpload: false },
      }),
    ).rejects.toMatchObject({ exitCode: 2, code: 'PUSH_NO_IMAGE' });
  });
  it('an image that does not exist is an error before anything is written', async () => {
    const out = path.join(tmp, 'missing.json');
    await expect(
      runProvenance({
        subjects: [`${reg.host}/acme/nothing:v1`],
        registry: { plainHttp: true },
        env: {},
        sourceDir: tmp,
        out,
      }),
    ).rejects.toMatchObject({
      exitCode: expect.any(Number),
    });
    expect(() => readFileSync(out)).toThrow();
  });
});
