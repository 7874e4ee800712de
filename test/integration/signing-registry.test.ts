import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { attestImage, publishFunction, signImage } from '../../src/bundles/index.js';
import {
  ANNOTATION,
  listReferrerManifests,
  MediaType,
  openLayout,
  openStore,
  parseReference,
  tree,
  type Descriptor,
  type ImageManifest,
  type Store,
} from '../../src/oci/index.js';
import { generateKeyPair, signFile, writeKeyPair, type SignerSpec } from '../../src/signing/index.js';
import { pushIndex } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';
import { describeV03, statementOf, verifyIndependently } from '../support/sigstore-verify.js';

let reg: TestRegistry;
let stack: SigstoreStack;
let dir: string;
let keySpec: SignerSpec;
let pub: string;
const registry = { plainHttp: true };

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The bundles attached to `subject`: annotations and parsed bundle JSON. */
async function bundlesOf(store: Store, subject: Descriptor | string) {
  const refs = await listReferrerManifests(store, subject, { artifactType: MediaType.sigstoreBundleV03 });
  return Promise.all(
    refs.map(async (r) => {
      const m = r.fetched.manifest as ImageManifest;
      expect(m.config.mediaType).toBe(MediaType.ociEmpty);
      expect(m.layers).toHaveLength(1);
      expect(m.layers[0]!.mediaType).toBe(MediaType.sigstoreBundleV03);
      const bytes = await readAll(await store.fetchBlob(m.layers[0]!));
      return {
        annotations: m.annotations ?? {},
        json: JSON.parse(bytes.toString('utf8')) as Record<string, unknown>,
      };
    }),
  );
}

beforeAll(async () => {
  [reg, stack] = await Promise.all([startRegistry({ name: 'signing' }), startSigstoreStack()]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-sigreg-'));
  const pair = await generateKeyPair({ type: 'p256', password: 'pw' });
  const w = await writeKeyPair(dir, pair);
  keySpec = { kind: 'key', keyPath: w.privateKeyPath, password: 'pw' };
  pub = pair.publicKeyPem;
});
afterAll(async () => {
  await Promise.all([reg?.stop(), stack?.stop()]);
});

describe('sign image in a real registry', () => {
  it('--recursive signs the index and each platform manifest; cosign v3 referrer layout', async () => {
    const store = await openStore(parseReference(`${reg.host}/demo/app`), registry);
    const img = await pushIndex(store, 'v1');
    const resolved: string[] = [];
    const res = await signImage(`${reg.host}/demo/app:v1`, keySpec, {
      registry,
      recursive: true,
      onResolved: (tag, d) => resolved.push(`${tag}=${d}`),
    });
    expect(resolved).toEqual([`v1=${img.root.digest}`]);
    expect(res.pinned).toBe(`${reg.host}/demo/app:v1@${img.root.digest}`);
    expect(res.signatures.map((s) => s.subject.digest)).toEqual([
      img.root.digest,
      ...img.children.map((c) => c.digest),
    ]);
    for (const subject of [img.root, ...img.children]) {
      const bundles = await bundlesOf(store, subject);
      expect(bundles).toHaveLength(1);
      const b = bundles[0]!;
      expect(b.annotations[ANNOTATION.bundleContent]).toBe('dsse-envelope');
      expect(b.annotations[ANNOTATION.bundlePredicateType]).toBe('https://sigstore.dev/cosign/sign/v1');
      expect(describeV03(b.json)).toMatchObject({ content: 'dsse', key: 'publicKey' });
      verifyIndependently(b.json, { publicKeyPem: pub });
      const st = statementOf(b.json);
      expect(st.subject).toEqual([
        { name: `${reg.host}/demo/app`, digest: { sha256: subject.digest.slice(7) } },
      ]);
      expect(st.predicate).toEqual({});
    }
    // vouch tree (library) sees the signatures with their predicate type.
    const t = await tree(store, img.root.digest);
    expect(t.referrers.map((r) => r.predicateType)).toContain('https://sigstore.dev/cosign/sign/v1');
    for (const child of t.children) expect(child.referrers).toHaveLength(1);
  });

  it('keyless signature by digest, attestation with a predicate; both verify from the registry', async () => {
    const store = await openStore(parseReference(`${reg.host}/demo/keyless`), registry);
    const img = await pushIndex(store, undefined);
    const spec: SignerSpec = {
      kind: 'keyless',
      identityToken: stack.issueToken({ sub: 'https://ci.test/release' }),
      signingConfigPath: stack.signingConfigPath,
      env: {},
    };
    const res = await signImage(`${reg.host}/demo/keyless@${img.root.digest}`, spec, { registry });
    expect(res.tag).toBeUndefined();
    expect(res.signatures).toHaveLength(1);
    const predicate = { scanner: { uri: 'pkg:github/aquasecurity/trivy', result: [] } };
    await attestImage(
      `${reg.host}/demo/keyless@${img.root.digest}`,
      'https://in-toto.io/attestation/vulns/v0.2',
      predicate,
      spec,
      {
        registry,
      },
    );
    const bundles = await bundlesOf(store, img.root);
    expect(bundles.map((b) => b.annotations[ANNOTATION.bundlePredicateType]).sort()).toEqual([
      'https://in-toto.io/attestation/vulns/v0.2',
      'https://sigstore.dev/cosign/sign/v1',
    ]);
    for (const b of bundles) {
      verifyIndependently(b.json, {
        trustedRoot: stack.trustedRoot,
        tlogThreshold: 1,
        ctlogThreshold: 1,
        timestampThreshold: 2,
      });
    }
    const vulns = bundles.find((b) => b.annotations[ANNOTATION.bundlePredicateType]!.includes('vulns'))!;
    expect(statementOf(vulns.json).predicate).toEqual(predicate);
  });

  it('nothing is attached when signing fails (Fulcio down)', async () => {
    const store = await openStore(parseReference(`${reg.host}/demo/fail`), registry);
    const img = await pushIndex(store, 'v1');
    stack.faults.fulcio = 'down';
    try {
      await expect(
        signImage(
          `${reg.host}/demo/fail:v1`,
          {
            kind: 'keyless',
            identityToken: stack.issueToken(),
            fulcioUrl: stack.fulcioUrl,
            rekorUrl: stack.rekorUrl,
            env: {},
          },
          { registry, recursive: true },
        ),
      ).rejects.toMatchObject({ exitCode: 3 });
    } finally {
      stack.faults.fulcio = undefined;
    }
    for (const d of [img.root, ...img.children]) expect(await listReferrerManifests(store, d)).toEqual([]);
  });

  it('a missing tag is a clear error and signs nothing', async () => {
    const err = (await signImage(`${reg.host}/demo/app:nope`, keySpec, { registry }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toMatchObject({ code: 'MANIFEST_UNKNOWN', exitCode: 3 });
    expect(err.message).toContain('nope');
  });
});

describe('OCI image layout', () => {
  it('signs an image in a layout directory and stores the referrer there', async () => {
    const layoutDir = path.join(dir, 'layout');
    const store = openLayout(layoutDir);
    const img = await pushIndex(store, 'v1');
    const res = await signImage(`oci:${layoutDir}:v1`, keySpec);
    expect(res.subject.digest).toBe(img.root.digest);
    const bundles = await bundlesOf(openLayout(layoutDir), img.root);
    expect(bundles).toHaveLength(1);
    verifyIndependently(bundles[0]!.json, { publicKeyPem: pub });
    expect(statementOf(bundles[0]!.json).subject[0]!.name).toBe(`oci:${layoutDir}`);
  });
});

describe('function packages', () => {
  it('pushes the package as an artifact with its media type and attaches the message-signature bundle', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const f = path.join(dir, 'handler.zip');
    writeFileSync(f, data);
    const signed = await signFile(f, keySpec);
    const pubd = await publishFunction(f, `${reg.host}/functions/handler:1.0.0`, signed, { registry });
    const store = await openStore(parseReference(`${reg.host}/functions/handler`), registry);
    const fetched = await store.fetchManifest('1.0.0');
    expect(fetched.descriptor.digest).toBe(pubd.artifact.digest);
    const m = fetched.manifest as ImageManifest;
    expect(m.artifactType).toBe('application/vnd.vouch.function.v1');
    expect(m.layers).toEqual([
      expect.objectContaining({
        mediaType: 'application/zip',
        digest: `sha256:${signed.sha256}`,
        size: data.length,
        annotations: { [ANNOTATION.title]: 'handler.zip' },
      }),
    ]);
    expect((await readAll(await store.fetchBlob(m.layers[0]!))).equals(data)).toBe(true);
    const bundles = await bundlesOf(store, pubd.artifact);
    expect(bundles).toHaveLength(1);
    expect(bundles[0]!.annotations[ANNOTATION.bundleContent]).toBe('message-signature');
    verifyIndependently(bundles[0]!.json, { publicKeyPem: pub, artifact: data });
  });
});
