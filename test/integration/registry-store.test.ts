import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { parseRegistryReference } from '../../src/oci/reference.js';
import {
  isNotFound,
  openRegistryStore,
  RegistrySession,
  type RegistryStore,
} from '../../src/oci/registry.js';
import { MediaType, type Descriptor } from '../../src/oci/types.js';
import { startReferrersApiStub, type ReferrersApiStub } from '../support/referrers-api-stub.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let reg: TestRegistry;
let stub: ReferrersApiStub;
let store: RegistryStore;

function blob(text: string): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(text);
  return {
    desc: { mediaType: MediaType.ociLayerTar, digest: sha256Digest(bytes), size: bytes.length },
    bytes,
  };
}

const config = blob('{}');
function imageManifest(layers: Descriptor[], extra: Record<string, unknown> = {}): Buffer {
  // Deliberately unusual spacing: stored bytes must be preserved exactly, not re-serialized.
  return Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { ...config.desc, mediaType: MediaType.ociEmpty },
        layers,
        ...extra,
      },
      null,
      3,
    ),
  );
}

async function readAll(s: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}

async function expectError(p: Promise<unknown>): Promise<VouchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VouchError);
  return err as VouchError;
}

beforeAll(async () => {
  reg = await startRegistry({ name: 'store' });
  stub = await startReferrersApiStub(reg.host);
  store = await openRegistryStore(parseRegistryReference(`${reg.host}/demo/app`), { plainHttp: true });
  await store.pushBlob(config.desc, config.bytes);
});
afterAll(async () => {
  store?.close();
  await stub?.stop();
  await reg?.stop();
});

describe('registry store round trips (docker-registry)', () => {
  it('pushes blobs from a buffer, a stream and a stream factory and reads them back verified', async () => {
    const a = blob('layer from a buffer');
    const b = blob('layer from a stream '.repeat(5000));
    const c = blob('layer from a factory');
    await store.pushBlob(a.desc, a.bytes);
    await store.pushBlob(b.desc, Readable.from([b.bytes.subarray(0, 1000), b.bytes.subarray(1000)]));
    await store.pushBlob(c.desc, () => Readable.from([c.bytes]));
    for (const x of [a, b, c]) {
      expect(await store.hasBlob(x.desc.digest)).toBe(true);
      expect(await readAll(await store.fetchBlob(x.desc))).toEqual(x.bytes);
    }
    expect(await store.hasBlob(sha256Digest('absent'))).toBe(false);
  });

  it('pushes an empty blob', async () => {
    const e = blob('');
    await store.pushBlob(e.desc, e.bytes);
    expect(await readAll(await store.fetchBlob(e.desc))).toEqual(Buffer.alloc(0));
  });

  it('stores manifest bytes exactly and fetches them by tag, digest and descriptor', async () => {
    const layer = blob('manifest layer');
    await store.pushBlob(layer.desc, layer.bytes);
    const bytes = imageManifest([layer.desc], { annotations: { 'org.example': 'ünïcode' } });
    const pushed = await store.pushManifest(bytes, MediaType.ociManifest, 'v1');
    expect(pushed).toEqual({
      mediaType: MediaType.ociManifest,
      digest: sha256Digest(bytes),
      size: bytes.length,
    });
    const byTag = await store.fetchManifest('v1');
    expect(byTag.bytes.equals(bytes)).toBe(true);
    expect(byTag.descriptor).toEqual(pushed);
    const byDigest = await store.fetchManifest(pushed.digest);
    expect(byDigest.bytes.equals(bytes)).toBe(true);
    const withAnno = { ...pushed, annotations: { a: 'b' } };
    expect((await store.fetchManifest(withAnno)).descriptor).toEqual(withAnno);
    expect(await store.resolve('v1')).toEqual(pushed);
    expect(await store.hasManifest(pushed.digest)).toBe(true);
    expect(await store.listTags()).toContain('v1');
    // an independent client sees the same bytes
    const raw = execFileSync('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/demo/app:v1`,
    ]);
    expect(sha256Digest(raw)).toBe(pushed.digest);
  });

  it('a descriptor whose size disagrees with the manifest is refused', async () => {
    const { descriptor } = await store.fetchManifest('v1');
    const err = await expectError(store.fetchManifest({ ...descriptor, size: descriptor.size + 1 }));
    expect(err.code).toBe('DIGEST_MISMATCH');
  });

  it('pushes an index and an artifact manifest by digest (no tag) with artifactType', async () => {
    const { descriptor: child } = await store.fetchManifest('v1');
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ ...child, platform: { architecture: 'amd64', os: 'linux' } }],
      }),
    );
    const idx = await store.pushManifest(index, MediaType.ociIndex, 'multi');
    expect((await store.fetchManifest('multi')).manifest).toMatchObject({
      manifests: [{ digest: child.digest }],
    });
    const art = imageManifest([config.desc], { artifactType: MediaType.sigstoreBundleV03, subject: idx });
    const d = await store.pushManifest(art, MediaType.ociManifest);
    expect(d.artifactType).toBe(MediaType.sigstoreBundleV03);
    const back = await store.fetchManifest(d.digest);
    expect(back.descriptor.artifactType).toBe(MediaType.sigstoreBundleV03);
  });

  it('deletes by digest; absent things have distinct not-found codes', async () => {
    const layer = blob('to delete');
    await store.pushBlob(layer.desc, layer.bytes);
    const d = await store.pushManifest(imageManifest([layer.desc]), MediaType.ociManifest);
    await store.deleteManifest(d.digest);
    expect(await store.hasManifest(d.digest)).toBe(false);
    const m = await expectError(store.fetchManifest(d.digest));
    expect(m.code).toBe('MANIFEST_UNKNOWN');
    expect(m.exitCode).toBe(3);
    expect(isNotFound(m)).toBe(true);
    expect((await expectError(store.fetchManifest('no-such-tag'))).code).toBe('MANIFEST_UNKNOWN');
    expect((await expectError(store.fetchBlob(blob('nope').desc))).code).toBe('BLOB_UNKNOWN');
    const other = await openRegistryStore(parseRegistryReference(`${reg.host}/never/pushed`), {
      plainHttp: true,
    });
    const n = await expectError(other.listTags());
    expect(n.code).toBe('NAME_UNKNOWN');
    expect(n.message).toContain('never/pushed');
  });

  it("includes the registry's error code and message when it refuses", async () => {
    const missing = blob('never uploaded');
    const err = await expectError(
      store.pushManifest(imageManifest([missing.desc]), MediaType.ociManifest, 'broken'),
    );
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toMatch(/answered 400 .*MANIFEST_BLOB_UNKNOWN/);
  });

  it('refuses content that does not match the descriptor before or while uploading', async () => {
    const good = blob('real content');
    const err = await expectError(
      store.pushBlob({ ...good.desc, digest: sha256Digest('other') }, good.bytes),
    );
    expect(err.code).toBe('DIGEST_MISMATCH');
    const streamErr = await expectError(
      store.pushBlob({ ...good.desc, digest: sha256Digest('other content') }, Readable.from([good.bytes])),
    );
    expect(streamErr.code).toBe('DIGEST_MISMATCH');
    expect(await store.hasBlob(sha256Digest('other content'))).toBe(false);
  });

  it('mounts a blob across repositories (201) and reports a missing source blob as not mounted', async () => {
    const layer = blob('mount me');
    await store.pushBlob(layer.desc, layer.bytes);
    const dst = await openRegistryStore(parseRegistryReference(`${reg.host}/prod/app`), { plainHttp: true });
    expect(await dst.hasBlob(layer.desc.digest)).toBe(false);
    expect(await dst.mountBlob(layer.desc, 'demo/app')).toBe(true);
    expect(await dst.hasBlob(layer.desc.digest)).toBe(true);
    expect(await dst.mountBlob(blob('nowhere').desc, `${reg.host}/demo/app`)).toBe(false);
    expect(await dst.mountBlob(layer.desc, 'other.registry.example/demo/app')).toBe(false);
  });

  it('referrersApi is undefined on docker-registry (no referrers API)', async () => {
    const { descriptor } = await store.fetchManifest('v1');
    expect(await store.referrersApi(descriptor.digest)).toBeUndefined();
  });

  it('referrersApi lists referrers through a referrers-capable registry (stub), filtered by artifactType', async () => {
    const session = new RegistrySession({ plainHttp: true });
    const viaStub = await openRegistryStore(parseRegistryReference(`${stub.host}/demo/app`), {}, session);
    const { descriptor: subject } = await viaStub.fetchManifest('v1');
    expect(await viaStub.referrersApi(subject.digest)).toEqual([]);
    const sig = await viaStub.pushManifest(
      imageManifest([config.desc], {
        artifactType: MediaType.sigstoreBundleV03,
        subject,
        annotations: { n: 'sig' },
      }),
      MediaType.ociManifest,
    );
    const other = await viaStub.pushManifest(
      imageManifest([config.desc], { artifactType: 'application/example', subject }),
      MediaType.ociManifest,
    );
    const all = await viaStub.referrersApi(subject.digest);
    expect(all?.map((d) => d.digest).sort()).toEqual([sig.digest, other.digest].sort());
    expect(all?.find((d) => d.digest === sig.digest)).toMatchObject({
      artifactType: MediaType.sigstoreBundleV03,
      annotations: { n: 'sig' },
    });
    const filtered = await viaStub.referrersApi(subject.digest, MediaType.sigstoreBundleV03);
    expect(filtered?.map((d) => d.digest)).toEqual([sig.digest]);
    session.close();
  });
});

describe('transport failures', () => {
  it('an unreachable registry is REGISTRY_UNREACHABLE (exit 3)', async () => {
    const dead = await openRegistryStore(parseRegistryReference('127.0.0.1:1/x/y'), {
      plainHttp: true,
      maxAttempts: 2,
      backoffMs: 5,
    });
    const err = await expectError(dead.resolve('v1'));
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/cannot reach 127\.0\.0\.1:1: ECONNREFUSED after 2 attempts/);
  });
  it('https is the default: a plain-http registry is not silently downgraded to', async () => {
    const https = await openRegistryStore(parseRegistryReference(`${reg.host}/demo/app`), { maxAttempts: 1 });
    const err = await expectError(https.resolve('v1'));
    expect(err.code).toBe('REGISTRY_TLS');
    expect(err.hint).toBe('use --registry-ca FILE or --plain-http');
  });
});
