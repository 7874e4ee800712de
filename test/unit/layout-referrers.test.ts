import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachArtifact, pushArtifact } from '../../src/oci/artifact.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { LayoutStore } from '../../src/oci/layout.js';
import { addReferrer, listReferrers, readFallbackIndex, referrersTag } from '../../src/oci/referrers.js';
import { ANNOTATION, EMPTY_JSON, MediaType, type ImageManifest } from '../../src/oci/types.js';
import {
  attachTestReferrer,
  pushIndex,
  pushMislabeledReferrer,
  pushPlatformImage,
} from '../support/images.js';
import { writeFile } from 'node:fs/promises';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-refs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('referrers in an OCI layout (tag schema)', () => {
  it('lists nothing when the referrers tag does not exist', async () => {
    const store = new LayoutStore(dir);
    const img = await pushPlatformImage(store, 'amd64');
    expect(await listReferrers(store, img.manifest)).toEqual([]);
    expect(await listReferrers(new LayoutStore(path.join(dir, 'none')), img.manifest.digest)).toEqual([]);
  });

  it('attaches an artifact as an OCI 1.1 referrer with the empty config and a created annotation', async () => {
    const store = new LayoutStore(dir);
    const img = await pushPlatformImage(store, 'amd64', 4096, 'v1');
    const ref = await attachTestReferrer(store, img.manifest, 'sig');
    const fetched = await store.fetchManifest(ref);
    const m = fetched.manifest as ImageManifest;
    expect(m.artifactType).toBe(MediaType.sigstoreBundleV03);
    expect(m.config).toEqual({ mediaType: EMPTY_JSON.mediaType, digest: EMPTY_JSON.digest, size: 2 });
    expect(await store.hasBlob(EMPTY_JSON.digest)).toBe(true);
    expect(m.subject).toEqual({
      mediaType: MediaType.ociManifest,
      digest: img.manifest.digest,
      size: img.manifest.size,
    });
    expect(m.annotations?.[ANNOTATION.created]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ref.artifactType).toBe(MediaType.sigstoreBundleV03);
    const listed = await listReferrers(store, img.manifest);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      digest: ref.digest,
      size: ref.size,
      artifactType: MediaType.sigstoreBundleV03,
      annotations: { [ANNOTATION.bundlePredicateType]: 'https://slsa.dev/provenance/v1' },
    });
    // The fallback index entry keeps artifactType and annotations.
    const idx = await readFallbackIndex(store, img.manifest.digest);
    expect(idx?.manifests[0]).toMatchObject({
      digest: ref.digest,
      artifactType: MediaType.sigstoreBundleV03,
    });
    expect(idx?.manifests[0]?.annotations?.[ANNOTATION.bundlePredicateType]).toBe(
      'https://slsa.dev/provenance/v1',
    );
    expect(await store.listTags()).toContain(referrersTag(img.manifest.digest));
  });

  it('16 concurrent referrer writes to one image end with 16 listed', async () => {
    const img = await pushPlatformImage(new LayoutStore(dir), 'amd64');
    const refs = await Promise.all(
      Array.from({ length: 16 }, (_, i) => attachTestReferrer(new LayoutStore(dir), img.manifest, `r${i}`)),
    );
    const listed = await listReferrers(new LayoutStore(dir), img.manifest);
    expect(listed).toHaveLength(16);
    expect(new Set(listed.map((d) => d.digest))).toEqual(new Set(refs.map((r) => r.digest)));
  });

  it('adding the same referrer twice lists it once', async () => {
    const store = new LayoutStore(dir);
    const img = await pushPlatformImage(store, 'amd64');
    const ref = await attachTestReferrer(store, img.manifest, 'once');
    await addReferrer(store, img.manifest, ref);
    await addReferrer(store, img.manifest, ref);
    expect(await listReferrers(store, img.manifest)).toHaveLength(1);
  });

  it('ignores an entry whose manifest subject is another image', async () => {
    const store = new LayoutStore(dir);
    const a = await pushPlatformImage(store, 'amd64');
    const b = await pushPlatformImage(store, 'arm64');
    const good = await attachTestReferrer(store, a.manifest, 'good');
    const evil = await pushMislabeledReferrer(store, a.manifest, b.manifest);
    const idx = await readFallbackIndex(store, a.manifest.digest);
    expect(idx?.manifests.map((m) => m.digest)).toContain(evil.digest);
    const listed = await listReferrers(store, a.manifest);
    expect(listed.map((d) => d.digest)).toEqual([good.digest]);
  });

  it('ignores entries whose manifest is gone and filters by artifactType', async () => {
    const store = new LayoutStore(dir);
    const img = await pushIndex(store, 'v1');
    const sig = await attachTestReferrer(store, img.root, 'sig');
    const sbom = await attachTestReferrer(store, img.root, 'sbom', 'application/spdx+json');
    const gone = await attachTestReferrer(store, img.root, 'gone');
    await store.deleteManifest(gone.digest);
    expect((await listReferrers(store, img.root)).map((d) => d.digest).sort()).toEqual(
      [sig.digest, sbom.digest].sort(),
    );
    const onlySbom = await listReferrers(store, img.root, { artifactType: 'application/spdx+json' });
    expect(onlySbom.map((d) => d.digest)).toEqual([sbom.digest]);
  });

  it('falls back to the config media type as artifact type for old-style artifacts', async () => {
    const store = new LayoutStore(dir);
    const img = await pushPlatformImage(store, 'amd64');
    const ref = await attachArtifact(store, img.manifest, { artifactType: 'application/x-a', layers: [] });
    const listed = await listReferrers(store, img.manifest, { artifactType: 'application/x-a' });
    expect(listed.map((d) => d.digest)).toEqual([ref.digest]);
  });

  it('pushes a file as a one-layer artifact with a title annotation', async () => {
    const store = new LayoutStore(dir);
    const file = path.join(dir, 'fn.zip');
    await writeFile(file, Buffer.alloc(200_000, 7));
    const d = await pushArtifact(
      store,
      {
        artifactType: 'application/vnd.example.function',
        file: { path: file, mediaType: 'application/zip', title: 'fn.zip' },
      },
      'fn-1',
    );
    const m = (await store.fetchManifest('fn-1')).manifest as ImageManifest;
    expect(d.artifactType).toBe('application/vnd.example.function');
    expect(m.layers).toEqual([
      {
        mediaType: 'application/zip',
        digest: sha256Digest(Buffer.alloc(200_000, 7)),
        size: 200_000,
        annotations: { [ANNOTATION.title]: 'fn.zip' },
      },
    ]);
    expect(await store.hasBlob(m.layers[0]!.digest)).toBe(true);
  });

  it('refuses a flood of more than 1000 referrers', async () => {
    const store = new LayoutStore(dir);
    const img = await pushPlatformImage(store, 'amd64');
    const manifests = Array.from({ length: 1001 }, (_, i) => ({
      mediaType: MediaType.ociManifest,
      digest: sha256Digest(String(i)),
      size: 10,
    }));
    await store.pushManifest(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })),
      MediaType.ociIndex,
      referrersTag(img.manifest.digest),
    );
    await expect(listReferrers(store, img.manifest)).rejects.toMatchObject({
      code: 'TOO_MANY_REFERRERS',
      exitCode: 3,
    });
  });
});
