import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { LayoutStore } from '../../src/oci/layout.js';
import { ANNOTATION, MediaType, type Descriptor } from '../../src/oci/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-layout-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function blob(content: string): { desc: Descriptor; data: Buffer } {
  const data = Buffer.from(content);
  return {
    desc: { mediaType: 'application/octet-stream', digest: sha256Digest(data), size: data.length },
    data,
  };
}

function manifestBytes(layer: Descriptor, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociEmpty, digest: sha256Digest('{}'), size: 2 },
      layers: [layer],
      ...extra,
    }),
  );
}

async function indexJson(root: string): Promise<{ manifests: Descriptor[] }> {
  return JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
}

describe('OCI image layout store', () => {
  it('creates the layout on first push and writes oci-layout, index.json and blobs', async () => {
    const root = path.join(dir, 'new', 'lay');
    const store = new LayoutStore(root);
    const b = blob('hello');
    await store.pushBlob(b.desc, b.data);
    expect(JSON.parse(await readFile(path.join(root, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const onDisk = await readFile(path.join(root, 'blobs', 'sha256', b.desc.digest.slice(7)));
    expect(onDisk.toString()).toBe('hello');
    const m = manifestBytes(b.desc);
    const d = await store.pushManifest(m, MediaType.ociManifest, 'v1');
    expect(d.digest).toBe(sha256Digest(m));
    const idx = await indexJson(root);
    expect(idx.manifests).toEqual([
      {
        mediaType: MediaType.ociManifest,
        digest: d.digest,
        size: m.length,
        annotations: { [ANNOTATION.refName]: 'v1' },
      },
    ]);
    expect(await store.listTags()).toEqual(['v1']);
    const fetched = await store.fetchManifest('v1');
    expect(fetched.bytes.equals(m)).toBe(true);
    expect(fetched.descriptor.digest).toBe(d.digest);
    expect(await store.resolve(d.digest)).toMatchObject({
      digest: d.digest,
      mediaType: MediaType.ociManifest,
    });
  });

  it('streams blobs in and out, verifying the digest on both sides', async () => {
    const store = new LayoutStore(dir);
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    const desc = { mediaType: 'application/octet-stream', digest: sha256Digest(data), size: data.length };
    await store.pushBlob(desc, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(await store.hasBlob(desc.digest)).toBe(true);
    const back = await text(await store.fetchBlob(desc));
    expect(back.length).toBe(data.length);
  });

  it('refuses a blob whose bytes do not match its digest and leaves nothing behind', async () => {
    const store = new LayoutStore(dir);
    const b = blob('good');
    const wrong = { ...b.desc, digest: sha256Digest('other') };
    await expect(store.pushBlob(wrong, Readable.from([Buffer.from('good')]))).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      exitCode: 3,
    });
    await expect(store.pushBlob(wrong, Buffer.from('good'))).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(await store.hasBlob(wrong.digest)).toBe(false);
    expect(await readdir(path.join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('re-hashes on read: a blob or manifest altered on disk is refused', async () => {
    const store = new LayoutStore(dir);
    const b = blob('original content');
    await store.pushBlob(b.desc, b.data);
    const m = manifestBytes(b.desc);
    const d = await store.pushManifest(m, MediaType.ociManifest, 'v1');
    await writeFile(store.blobPath(b.desc.digest), 'tampered content');
    await expect(text(await store.fetchBlob(b.desc))).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      exitCode: 3,
    });
    await writeFile(store.blobPath(b.desc.digest), 'short');
    await expect(store.fetchBlob(b.desc)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    const altered = Buffer.from(m.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
    await writeFile(store.blobPath(d.digest), altered);
    await expect(store.fetchManifest('v1')).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('a corrupted blob fetched now and read later fails cleanly on the first read', async () => {
    const store = new LayoutStore(dir);
    const b = blob('content that will be altered');
    await store.pushBlob(b.desc, b.data);
    await writeFile(store.blobPath(b.desc.digest), 'content that WILL be altered');
    const stream = await store.fetchBlob(b.desc);
    // The consumer is busy elsewhere for a while (e.g. opening an upload session).
    await new Promise((r) => setTimeout(r, 50));
    const other = new LayoutStore(path.join(dir, 'other'));
    await expect(other.pushBlob(b.desc, stream)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      exitCode: 3,
    });
    expect(await other.hasBlob(b.desc.digest)).toBe(false);
  });

  it('records untagged pushes once, one entry per digest+tag, and moves tags', async () => {
    const store = new LayoutStore(dir);
    const b = blob('a');
    await store.pushBlob(b.desc, b.data);
    const m1 = manifestBytes(b.desc);
    const m2 = manifestBytes(b.desc, { annotations: { n: '2' } });
    const d1 = await store.pushManifest(m1, MediaType.ociManifest);
    await store.pushManifest(m1, MediaType.ociManifest);
    expect((await indexJson(dir)).manifests.filter((e) => e.digest === d1.digest)).toHaveLength(1);
    await store.pushManifest(m1, MediaType.ociManifest, 'v1');
    await store.pushManifest(m1, MediaType.ociManifest, 'v1');
    const d2 = await store.pushManifest(m2, MediaType.ociManifest, 'latest');
    await store.pushManifest(m2, MediaType.ociManifest, 'v1');
    const entries = (await indexJson(dir)).manifests;
    const keys = entries.map((e) => `${e.digest}|${e.annotations?.[ANNOTATION.refName] ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect((await store.resolve('v1')).digest).toBe(d2.digest);
    expect((await store.resolve('latest')).digest).toBe(d2.digest);
    // The untagged push of m1 keeps it reachable after its tag moved away.
    expect(entries.some((e) => e.digest === d1.digest)).toBe(true);
    expect((await store.listTags()).sort()).toEqual(['latest', 'v1']);
  });

  it('reports a missing tag, a missing layout and a bad digest precisely', async () => {
    const store = new LayoutStore(path.join(dir, 'absent'));
    await expect(store.resolve('v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN', exitCode: 3 });
    expect(await store.listTags()).toEqual([]);
    expect(await store.hasBlob(sha256Digest('x'))).toBe(false);
    await expect(store.resolve('sha256:1234')).rejects.toMatchObject({ code: 'BAD_DIGEST', exitCode: 2 });
    await expect(store.fetchManifest(sha256Digest('nothing'))).rejects.toMatchObject({
      code: 'MANIFEST_UNKNOWN',
    });
    // A digest can never name a path outside blobs/.
    expect(() => store.blobPath('sha256:../../etc/passwd')).toThrow(/invalid digest/);
  });

  it('refuses a file in place of the layout directory, and an unknown layout version', async () => {
    const file = path.join(dir, 'file');
    await writeFile(file, 'x');
    const b = blob('x');
    await expect(new LayoutStore(file).pushBlob(b.desc, b.data)).rejects.toMatchObject({
      code: 'LAYOUT_NOT_DIRECTORY',
      exitCode: 2,
    });
    await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '2.0.0' }));
    await expect(new LayoutStore(dir).pushBlob(b.desc, b.data)).rejects.toMatchObject({
      code: 'LAYOUT_INVALID',
    });
  });

  it('keeps every entry when 32 manifests are pushed concurrently', async () => {
    const store = new LayoutStore(dir);
    const b = blob('shared');
    await store.pushBlob(b.desc, b.data);
    const pushed = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        // Separate store objects: the lock is per directory, not per object.
        new LayoutStore(dir).pushManifest(
          manifestBytes(b.desc, { annotations: { i: String(i) } }),
          MediaType.ociManifest,
          `t${i}`,
        ),
      ),
    );
    const entries = (await indexJson(dir)).manifests;
    expect(entries).toHaveLength(32);
    expect(new Set(entries.map((e) => e.digest))).toEqual(new Set(pushed.map((p) => p.digest)));
    const left = await readdir(dir);
    expect(left.filter((f) => f.startsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  });

  it('takes over a stale lock file but waits for a fresh one', async () => {
    const store = new LayoutStore(dir);
    const b = blob('x');
    await store.pushBlob(b.desc, b.data);
    const lock = path.join(dir, 'index.json.lock');
    await writeFile(lock, '999999 stale\n');
    const old = new Date(Date.now() - 60_000);
    const { utimes } = await import('node:fs/promises');
    await utimes(lock, old, old);
    await store.pushManifest(manifestBytes(b.desc), MediaType.ociManifest, 'v1');
    expect(await store.listTags()).toEqual(['v1']);
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });

    await writeFile(lock, `${process.pid} fresh\n`);
    let finished = false;
    const p = store
      .pushManifest(manifestBytes(b.desc, { annotations: { x: 'y' } }), MediaType.ociManifest, 'v2')
      .then(() => {
        finished = true;
      });
    await new Promise((r) => setTimeout(r, 300));
    expect(finished).toBe(false);
    await rm(lock);
    await p;
    expect((await store.listTags()).sort()).toEqual(['v1', 'v2']);
  });

  it('deletes a manifest by digest and has no referrers API', async () => {
    const store = new LayoutStore(dir);
    const b = blob('x');
    await store.pushBlob(b.desc, b.data);
    const d = await store.pushManifest(manifestBytes(b.desc), MediaType.ociManifest, 'v1');
    expect(await store.hasManifest(d.digest)).toBe(true);
    await store.deleteManifest(d.digest);
    expect(await store.hasManifest(d.digest)).toBe(false);
    expect(await store.listTags()).toEqual([]);
    expect(await store.referrersApi()).toBeUndefined();
  });
});
