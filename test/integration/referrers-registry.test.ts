/**
 * Referrers on a real registry without a referrers API (docker-registry 2.8): the tag-schema
 * fallback index under concurrent writers, and untrusted entries.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listReferrers,
  openStore,
  parseReference,
  copy,
  pushArtifact,
  readFallbackIndex,
  sha256Digest,
  type Descriptor,
  type Store,
} from '../../src/oci/index.js';
import { NODE, ROOT } from '../support/cli.js';
import { attachTestReferrer, pushMislabeledReferrer, pushPlatformImage } from '../support/images.js';
import { startReferrersApiStub } from '../support/referrers-api-stub.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let r: TestRegistry;
beforeAll(async () => {
  r = await startRegistry({ name: 'referrers' });
});
afterAll(async () => {
  await r?.stop();
});

function store(repo: string): Promise<Store> {
  return openStore(parseReference(`${r.host}/${repo}`), { plainHttp: true });
}

/** Attaches one referrer from a separate Node process (through the built library in dist/). */
function attachInChild(repo: string, subject: Descriptor, name: string): Promise<string> {
  const lib = path.join(ROOT, 'dist/src/oci/index.js');
  const script = `
    const { openStore, parseReference, attachArtifact } = await import(${JSON.stringify(lib)});
    const store = await openStore(parseReference(process.argv[1]), { plainHttp: true });
    const d = await attachArtifact(store, JSON.parse(process.argv[2]), {
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', data: Buffer.from(process.argv[3]) }],
    });
    store.close?.();
    process.stdout.write(d.digest);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(
      NODE,
      ['--input-type=module', '-e', script, `${r.host}/${repo}`, JSON.stringify(subject), name],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`child ${name} exited ${code}: ${err}`)),
    );
  });
}

describe('referrers tag schema on a registry', () => {
  it('lists nothing for an image without referrers', async () => {
    const s = await store('refs/none');
    const img = await pushPlatformImage(s, 'amd64', 1000, 'v1');
    expect(await listReferrers(s, img.manifest)).toEqual([]);
  });

  it('16 concurrent referrer writes from one process end with 16 listed', async () => {
    const s = await store('refs/inproc');
    const img = await pushPlatformImage(s, 'amd64', 1000, 'v1');
    const written = await Promise.all(
      Array.from({ length: 16 }, async (_, i) =>
        attachTestReferrer(await store('refs/inproc'), img.manifest, `p${i}`),
      ),
    );
    const listed = await listReferrers(s, img.manifest);
    expect(listed).toHaveLength(16);
    expect(new Set(listed.map((d) => d.digest))).toEqual(new Set(written.map((w) => w.digest)));
  });

  it('16 concurrent referrer writes from 16 processes end with 16 listed (read-back and retry)', async () => {
    expect(existsSync(path.join(ROOT, 'dist/src/oci/index.js')), 'run `npm run build` first').toBe(true);
    const s = await store('refs/procs');
    const img = await pushPlatformImage(s, 'amd64', 1000, 'v1');
    const written = await Promise.all(
      Array.from({ length: 16 }, (_, i) => attachInChild('refs/procs', img.manifest, `c${i}`)),
    );
    const listed = await listReferrers(s, img.manifest);
    expect(new Set(listed.map((d) => d.digest))).toEqual(new Set(written));
    expect(listed).toHaveLength(16);
  });

  it('ignores an index entry whose manifest names another subject', async () => {
    const s = await store('refs/mismatch');
    const a = await pushPlatformImage(s, 'amd64', 1000, 'a');
    const b = await pushPlatformImage(s, 'arm64', 1000, 'b');
    const good = await attachTestReferrer(s, a.manifest, 'good');
    const evil = await pushMislabeledReferrer(s, a.manifest, b.manifest);
    expect((await readFallbackIndex(s, a.manifest.digest))?.manifests.map((m) => m.digest)).toContain(
      evil.digest,
    );
    expect((await listReferrers(s, a.manifest)).map((d) => d.digest)).toEqual([good.digest]);
    expect(await listReferrers(s, b.manifest)).toEqual([]);
  });

  it('filters by artifact type and keeps annotations from the manifest', async () => {
    const s = await store('refs/filter');
    const img = await pushPlatformImage(s, 'amd64', 1000, 'v1');
    const sig = await attachTestReferrer(s, img.manifest, 'sig');
    await attachTestReferrer(s, img.manifest, 'sbom', 'application/spdx+json');
    const bundles = await listReferrers(s, img.manifest.digest, { artifactType: sig.artifactType! });
    expect(bundles.map((d) => d.digest)).toEqual([sig.digest]);
    expect(bundles[0]?.annotations?.['dev.sigstore.bundle.predicateType']).toBe(
      'https://slsa.dev/provenance/v1',
    );
  });

  it('uses the referrers API when the registry has one (STUB: docker-registry lacks it), and copies to one without', async () => {
    const api = await startReferrersApiStub(r.host);
    try {
      const s = await openStore(parseReference(`${api.host}/refs/api`), { plainHttp: true });
      const img = await pushPlatformImage(s, 'amd64', 1000, 'v1');
      const sig = await attachTestReferrer(s, img.manifest, 'sig');
      // With the API no fallback index is written...
      expect(await readFallbackIndex(s, img.manifest.digest)).toBeUndefined();
      // ...and listing goes through the API.
      const before = api.referrersRequests;
      expect((await listReferrers(s, img.manifest)).map((d) => d.digest)).toEqual([sig.digest]);
      expect(api.referrersRequests).toBeGreaterThan(before);
      // Copying to a registry without the API writes the tag-schema index there.
      const dst = await store('refs/api-copy');
      const res = await copy(s, 'v1', dst, { tag: 'v1' });
      expect(res.referrers).toBe(1);
      expect((await readFallbackIndex(dst, img.manifest.digest))?.manifests.map((m) => m.digest)).toEqual([
        sig.digest,
      ]);
    } finally {
      await api.stop();
    }
  });

  it('pushes a function package as a tagged one-layer artifact, streamed', async () => {
    const s = await store('fn/pkg');
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-fn-'));
    try {
      const file = path.join(dir, 'fn.zip');
      const data = Buffer.alloc(3 * 1024 * 1024 + 1, 'z');
      await writeFile(file, data);
      const d = await pushArtifact(
        s,
        {
          artifactType: 'application/vnd.example.fn',
          file: { path: file, mediaType: 'application/zip', title: 'fn.zip' },
        },
        'v1',
      );
      const m = await s.fetchManifest('v1');
      expect(m.descriptor.digest).toBe(d.digest);
      const layer = (m.manifest as { layers: Descriptor[] }).layers[0]!;
      expect(layer).toMatchObject({
        digest: sha256Digest(data),
        size: data.length,
        annotations: { 'org.opencontainers.image.title': 'fn.zip' },
      });
      expect(await s.hasBlob(layer.digest)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
