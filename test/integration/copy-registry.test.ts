/**
 * copy() against real registries (two docker-registry instances) and layouts, cross-checked
 * with skopeo as an independent client.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copy,
  listReferrers,
  openLayout,
  openStore,
  parseReference,
  type Descriptor,
  type Store,
} from '../../src/oci/index.js';
import { attachTestReferrer, pushIndex } from '../support/images.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let a: TestRegistry;
let b: TestRegistry;
let dir: string;
let layout: Store;
let img: Awaited<ReturnType<typeof pushIndex>>;
let refs: { sig: Descriptor; childSig: Descriptor; sigOfSig: Descriptor };

function reg(r: TestRegistry, repo: string): Promise<Store> {
  return openStore(parseReference(`${r.host}/${repo}`), { plainHttp: true });
}

/** sha256 of what skopeo (an independent client) reads for HOST/REPO@DIGEST or :TAG. */
function skopeoDigest(ref: string): string {
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  return 'sha256:' + createHash('sha256').update(raw).digest('hex');
}

/** Every digest of the fixture must be present, identical, at `store` (and via skopeo if a registry). */
async function expectComplete(store: Store, skopeoBase?: string): Promise<void> {
  for (const d of [img.root, ...img.children, refs.sig, refs.childSig, refs.sigOfSig]) {
    const fetched = await store.fetchManifest(d);
    expect(fetched.descriptor.digest).toBe(d.digest);
    if (skopeoBase) expect(skopeoDigest(`${skopeoBase}@${d.digest}`)).toBe(d.digest);
  }
  for (const blob of img.blobs) expect(await store.hasBlob(blob.digest)).toBe(true);
  expect((await listReferrers(store, img.root)).map((d) => d.digest)).toEqual([refs.sig.digest]);
  expect((await listReferrers(store, img.children[1]!)).map((d) => d.digest)).toEqual([refs.childSig.digest]);
  expect((await listReferrers(store, refs.sig)).map((d) => d.digest)).toEqual([refs.sigOfSig.digest]);
}

beforeAll(async () => {
  [a, b] = await Promise.all([startRegistry({ name: 'copy-a' }), startRegistry({ name: 'copy-b' })]);
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-copy-int-'));
  layout = openLayout(path.join(dir, 'src'));
  img = await pushIndex(layout, 'v1', 300_000);
  const sig = await attachTestReferrer(layout, img.root, 'index-sig');
  const childSig = await attachTestReferrer(layout, img.children[1]!, 'arm64-sbom', 'application/spdx+json');
  const sigOfSig = await attachTestReferrer(layout, sig, 'countersig');
  refs = { sig, childSig, sigOfSig };
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('copy between registries and layouts', () => {
  it('layout → registry: index, platforms, referrers (and a referrer of a referrer), digests identical', async () => {
    const dst = await reg(a, 'demo/app');
    const r = await copy(layout, 'v1', dst, { tag: 'v1' });
    expect(r.destination.digest).toBe(img.root.digest);
    expect(r.referrers).toBe(3);
    expect(skopeoDigest(`${a.host}/demo/app:v1`)).toBe(img.root.digest);
    await expectComplete(dst, `${a.host}/demo/app`);
  });

  it('registry → another registry, then a re-run skips everything', async () => {
    const src = await reg(a, 'demo/app');
    const dst = await reg(b, 'prod/app');
    const r = await copy(src, 'v1', dst, { tag: '1.0' });
    expect(r.blobs.copied).toBeGreaterThan(0);
    expect(r.blobs.mounted).toBe(0);
    expect(skopeoDigest(`${b.host}/prod/app:1.0`)).toBe(img.root.digest);
    await expectComplete(dst, `${b.host}/prod/app`);
    const again = await copy(src, 'v1', dst, { tag: '1.0' });
    expect(again.blobs.copied).toBe(0);
    expect(again.blobs.skipped).toBe(r.blobs.copied);
  });

  it('same registry, another repository: blobs are mounted, not uploaded', async () => {
    const src = await reg(a, 'demo/app');
    const dst = await reg(a, 'mirror/app');
    const r = await copy(src, img.root.digest, dst, { tag: 'v1' });
    expect(r.blobs.copied).toBe(0);
    expect(r.blobs.mounted).toBe(img.blobs.length + 1 + 3);
    await expectComplete(dst, `${a.host}/mirror/app`);
  });

  it('re-tags within one repository without moving a byte', async () => {
    const s = await reg(a, 'demo/app');
    const r = await copy(s, 'v1', s, { tag: 'v1-again' });
    expect(r.blobs).toMatchObject({ copied: 0, mounted: 0 });
    expect(r.blobs.skipped).toBe(img.blobs.length + 1 + 3);
    expect(skopeoDigest(`${a.host}/demo/app:v1-again`)).toBe(img.root.digest);
    expect((await listReferrers(s, img.root)).map((d) => d.digest)).toEqual([refs.sig.digest]);
  });

  it('registry → layout, and that layout → layout, keep every digest', async () => {
    const src = await reg(b, 'prod/app');
    const out = openLayout(path.join(dir, 'back'));
    const r = await copy(src, '1.0', out, { tag: 'v1' });
    expect(r.destination.digest).toBe(img.root.digest);
    await expectComplete(out);
    const again = openLayout(path.join(dir, 'again'));
    await copy(out, 'v1', again, { tag: 'v1' });
    await expectComplete(again);
    expect((await again.resolve('v1')).digest).toBe(img.root.digest);
    // skopeo reads the layout we wrote.
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${path.join(dir, 'again')}:v1`]);
    expect('sha256:' + createHash('sha256').update(raw).digest('hex')).toBe(img.root.digest);
  });

  it('a blob corrupted in the source registry fails the copy; the destination tag stays as it was', async () => {
    const src = await reg(a, 'corrupt/app');
    const seed = openLayout(path.join(dir, 'seed'));
    const fresh = await pushIndex(seed, 'v1', 50_000);
    const other = await pushIndex(seed, 'other', 1000);
    await copy(seed, 'v1', src, { tag: 'v1' });
    // Flip one byte of a layer in the registry's own storage: the registry serves it as is.
    const layer = fresh.blobs[1]!;
    const file = path.join(
      a.storageDir,
      'docker/registry/v2/blobs/sha256',
      layer.digest.slice(7, 9),
      layer.digest.slice(7),
      'data',
    );
    const bytes = await readFile(file);
    bytes[100] ^= 0xff;
    await writeFile(file, bytes);

    const dst = await reg(b, 'corrupt/dst');
    await expect(copy(src, 'v1', dst, { tag: 'v1' })).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      exitCode: 3,
    });
    await expect(dst.resolve('v1')).rejects.toMatchObject({ code: expect.stringMatching(/UNKNOWN$/) });

    await copy(seed, 'other', dst, { tag: 'v1' });
    await expect(copy(src, 'v1', dst, { tag: 'v1' })).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      exitCode: 3,
    });
    expect((await dst.resolve('v1')).digest).toBe(other.root.digest);
    expect(await dst.hasBlob(layer.digest)).toBe(false);
  });

  it('a source that flips or truncates a blob in transit fails the copy; the destination tag stays', async () => {
    const proxy = await startFaultProxy(a.host);
    try {
      const src = await openStore(parseReference(`${proxy.host}/demo/app`), { plainHttp: true });
      const dst = await reg(b, 'fault/app');
      const layer = img.blobs[3]!;
      proxy.addRule({
        method: 'GET',
        path: new RegExp(`/blobs/${layer.digest}`),
        times: Infinity,
        fault: { kind: 'flip', offset: 1000 },
      });
      await expect(copy(src, 'v1', dst, { tag: 'v1' })).rejects.toMatchObject({
        code: 'DIGEST_MISMATCH',
        exitCode: 3,
      });
      await expect(dst.resolve('v1')).rejects.toMatchObject({ code: expect.stringMatching(/UNKNOWN$/) });
      expect(await dst.hasBlob(layer.digest)).toBe(false);

      const seed = openLayout(path.join(dir, 'seed2'));
      const before = await pushIndex(seed, 'x', 100);
      await copy(seed, 'x', dst, { tag: 'v1' });
      proxy.clearRules();
      proxy.addRule({
        method: 'GET',
        path: new RegExp(`/blobs/${layer.digest}`),
        times: Infinity,
        fault: { kind: 'truncate', keep: 5000 },
      });
      await expect(copy(src, 'v1', dst, { tag: 'v1' })).rejects.toMatchObject({ exitCode: 3 });
      expect((await dst.resolve('v1')).digest).toBe(before.root.digest);
      expect(skopeoDigest(`${b.host}/fault/app:v1`)).toBe(before.root.digest);

      // Once the source behaves, the same copy completes.
      proxy.clearRules();
      await copy(src, 'v1', dst, { tag: 'v1' });
      expect(skopeoDigest(`${b.host}/fault/app:v1`)).toBe(img.root.digest);
    } finally {
      await proxy.stop();
    }
  });
});
