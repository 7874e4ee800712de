import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy } from '../../src/oci/copy.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { LayoutStore } from '../../src/oci/layout.js';
import { listReferrers } from '../../src/oci/referrers.js';
import { tree } from '../../src/oci/tree.js';
import { ANNOTATION, MediaType, type CopyProgress, type Descriptor } from '../../src/oci/types.js';
import { attachTestReferrer, pushIndex, pushMislabeledReferrer } from '../support/images.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-copy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(): Promise<{
  src: LayoutStore;
  img: Awaited<ReturnType<typeof pushIndex>>;
  sig: Descriptor;
  childSig: Descriptor;
  sigOfSig: Descriptor;
}> {
  const src = new LayoutStore(path.join(dir, 'src'));
  const img = await pushIndex(src, 'v1', 100_000);
  const sig = await attachTestReferrer(src, img.root, 'index-sig');
  const childSig = await attachTestReferrer(src, img.children[1]!, 'arm64-sbom', 'application/spdx+json');
  const sigOfSig = await attachTestReferrer(src, sig, 'countersig');
  return { src, img, sig, childSig, sigOfSig };
}

describe('copy between OCI layouts', () => {
  it('copies an index, its platforms and every referrer (recursively) with identical digests', async () => {
    const { src, img, sig, childSig, sigOfSig } = await fixture();
    const dst = new LayoutStore(path.join(dir, 'dst'));
    const phases: CopyProgress['phase'][] = [];
    const result = await copy(src, 'v1', dst, { tag: 'prod', onProgress: (p) => phases.push(p.phase) });
    expect(result.source.digest).toBe(img.root.digest);
    expect(result.destination.digest).toBe(img.root.digest);
    expect(result.manifests).toBe(3);
    expect(result.referrers).toBe(3);
    expect(result.tagged).toBe('prod');
    // 4 image blobs + the empty config + one layer per referrer.
    expect(result.blobs.copied).toBe(img.blobs.length + 1 + 3);
    expect(phases.indexOf('tag')).toBe(phases.length - 1);

    const root = await dst.fetchManifest('prod');
    expect(root.descriptor.digest).toBe(img.root.digest);
    expect(root.bytes.equals((await src.fetchManifest(img.root.digest)).bytes)).toBe(true);
    for (const child of img.children) expect(await dst.hasManifest(child.digest)).toBe(true);
    for (const b of img.blobs) {
      expect(await dst.hasBlob(b.digest)).toBe(true);
    }
    expect((await listReferrers(dst, img.root)).map((d) => d.digest)).toEqual([sig.digest]);
    expect((await listReferrers(dst, img.children[1]!)).map((d) => d.digest)).toEqual([childSig.digest]);
    expect((await listReferrers(dst, sig)).map((d) => d.digest)).toEqual([sigOfSig.digest]);
  });

  it('is idempotent: a re-run skips every blob and changes nothing', async () => {
    const { src } = await fixture();
    const dst = new LayoutStore(path.join(dir, 'dst'));
    const first = await copy(src, 'v1', dst, { tag: 'v1' });
    const indexBefore = await readFile(path.join(dir, 'dst', 'index.json'), 'utf8');
    const again = await copy(src, 'v1', dst, { tag: 'v1' });
    expect(again.blobs.copied).toBe(0);
    expect(again.blobs.skipped).toBe(first.blobs.copied);
    expect(await readFile(path.join(dir, 'dst', 'index.json'), 'utf8')).toBe(indexBefore);
  });

  it('copies by digest without a tag and without referrers when asked', async () => {
    const { src, img } = await fixture();
    const dst = new LayoutStore(path.join(dir, 'dst'));
    const result = await copy(src, img.root.digest, dst, { referrers: false });
    expect(result.tagged).toBeUndefined();
    expect(result.referrers).toBe(0);
    expect(await dst.listTags()).toEqual([]);
    expect((await dst.resolve(img.root.digest)).digest).toBe(img.root.digest);
  });

  it('does not copy a referrer whose manifest subject is another image', async () => {
    const { src, img } = await fixture();
    const other = await pushIndex(src, 'other');
    const evil = await pushMislabeledReferrer(src, img.root, other.root);
    const dst = new LayoutStore(path.join(dir, 'dst'));
    await copy(src, 'v1', dst, { tag: 'v1' });
    expect(await dst.hasManifest(evil.digest)).toBe(false);
  });

  it('a corrupted source blob fails the copy and leaves the destination tag as it was', async () => {
    const { src, img } = await fixture();
    const dst = new LayoutStore(path.join(dir, 'dst'));
    // Absent before → still absent.
    const layer = img.blobs[1]!;
    const original = await readFile(src.blobPath(layer.digest));
    const flipped = Buffer.from(original);
    flipped[flipped.length >> 1] ^= 0xff;
    await writeFile(src.blobPath(layer.digest), flipped);
    await expect(copy(src, 'v1', dst, { tag: 'prod' })).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      exitCode: 3,
    });
    expect(await dst.listTags()).toEqual([]);
    expect(await dst.hasBlob(layer.digest)).toBe(false);

    // X before → still X.
    await writeFile(src.blobPath(layer.digest), original);
    const other = await pushIndex(src, 'other');
    await copy(src, 'other', dst, { tag: 'prod' });
    await writeFile(src.blobPath(layer.digest), flipped);
    await expect(copy(src, 'v1', dst, { tag: 'prod' })).rejects.toMatchObject({ exitCode: 3 });
    expect((await dst.resolve('prod')).digest).toBe(other.root.digest);
  });

  it('runs beforeTag after all content is in place, and a refusal there leaves the tag alone', async () => {
    const { src, img, sig } = await fixture();
    const dst = new LayoutStore(path.join(dir, 'dst'));
    let sawReferrers = -1;
    await expect(
      copy(src, 'v1', dst, {
        tag: 'prod',
        beforeTag: async (root) => {
          expect(root.digest).toBe(img.root.digest);
          sawReferrers = (await listReferrers(dst, root)).length;
          throw new Error('policy says no');
        },
      }),
    ).rejects.toThrow('policy says no');
    expect(sawReferrers).toBe(1);
    expect(await dst.listTags()).not.toContain('prod');
    expect(await dst.hasManifest(sig.digest)).toBe(true);
  });

  it('copies Docker v2 manifest lists and manifests byte for byte', async () => {
    const src = new LayoutStore(path.join(dir, 'src'));
    const layer = Buffer.from('docker layer');
    const cfg = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layerD = {
      mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      digest: sha256Digest(layer),
      size: layer.length,
    };
    const cfgD = {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: sha256Digest(cfg),
      size: cfg.length,
    };
    await src.pushBlob(layerD, layer);
    await src.pushBlob(cfgD, cfg);
    // Docker's own spacing: the bytes, not a re-serialization, must travel.
    const m = Buffer.from(
      `{\n   "schemaVersion": 2,\n   "mediaType": "${MediaType.dockerManifest}",\n   "config": ${JSON.stringify(cfgD)},\n   "layers": [${JSON.stringify(layerD)}]\n}`,
    );
    const md = await src.pushManifest(m, MediaType.dockerManifest);
    const list = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: MediaType.dockerManifestList,
          manifests: [{ ...md, platform: { architecture: 'amd64', os: 'linux' } }],
        },
        null,
        3,
      ),
    );
    const ld = await src.pushManifest(list, MediaType.dockerManifestList, 'docker');
    const dst = new LayoutStore(path.join(dir, 'dst'));
    const r = await copy(src, 'docker', dst, { tag: 'docker' });
    expect(r.destination).toMatchObject({ digest: ld.digest, mediaType: MediaType.dockerManifestList });
    expect((await dst.fetchManifest(md.digest)).bytes.equals(m)).toBe(true);
    expect((await dst.fetchManifest('docker')).bytes.equals(list)).toBe(true);
  });

  it('copies a single-platform manifest', async () => {
    const src = new LayoutStore(path.join(dir, 'src'));
    const cfg = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const cfgD = { mediaType: MediaType.ociConfig, digest: sha256Digest(cfg), size: cfg.length };
    await src.pushBlob(cfgD, cfg);
    const m = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: cfgD, layers: [] }),
    );
    const d = await src.pushManifest(m, MediaType.ociManifest, 'one');
    const dst = new LayoutStore(path.join(dir, 'dst'));
    const r = await copy(src, 'one', dst, { tag: 'one' });
    expect(r.destination.digest).toBe(d.digest);
    expect(r.blobs).toMatchObject({ copied: 1, skipped: 0, mounted: 0 });
  });
});

describe('tree', () => {
  it('shows platforms, referrers, referrers of children and of referrers', async () => {
    const { src, img, sig, childSig, sigOfSig } = await fixture();
    const t = await tree(src, 'v1');
    expect(t).toMatchObject({ digest: img.root.digest, mediaType: MediaType.ociIndex, size: img.root.size });
    expect(t.children.map((c) => c.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect(t.referrers).toHaveLength(1);
    expect(t.referrers[0]).toMatchObject({
      digest: sig.digest,
      artifactType: MediaType.sigstoreBundleV03,
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(t.referrers[0]!.referrers.map((r) => r.digest)).toEqual([sigOfSig.digest]);
    expect(t.children[1]!.referrers.map((r) => r.digest)).toEqual([childSig.digest]);
    expect(t.children[1]!.referrers[0]!.artifactType).toBe('application/spdx+json');
    expect(t.children[0]!.referrers).toEqual([]);
    expect(t.referrers[0]!.annotations?.[ANNOTATION.bundleContent]).toBe('dsse-envelope');
  });
});
