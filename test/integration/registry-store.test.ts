import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

describe('IPv6 hosts', () => {
  it('talks to a registry at [::1]:PORT', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name: 'v6/app', tags: ['a', 'b'] }));
    });
    await new Promise<void>((r) => server.listen(0, '::1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const v6 = await openRegistryStore(parseRegistryReference(`[::1]:${port}/v6/app`), { plainHttp: true });
      expect(v6.name).toBe(`[::1]:${port}/v6/app`);
      expect(await v6.listTags()).toEqual(['a', 'b']);
      expect(seen).toEqual([`GET /v2/v6/app/tags/list?n=1000 host=[::1]:${port}`]);
      v6.close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
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
  it('a registry that accepts but never answers times out (REGISTRY_TIMEOUT)', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent = (await import('node:net')).createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const s = await openRegistryStore(parseRegistryReference(`127.0.0.1:${port}/x/y`), {
        plainHttp: true,
        timeoutMs: 200,
        maxAttempts: 2,
        backoffMs: 5,
      });
      const err = await expectError(s.resolve('v1'));
      expect(err.code).toBe('REGISTRY_TIMEOUT');
      expect(err.message).toMatch(/did not respond: no activity for 200 ms after 2 attempts/);
      expect(sockets.length).toBe(2);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
  it('https is the default: a plain-http registry is not silently downgraded to', async () => {
    const https = await openRegistryStore(parseRegistryReference(`${reg.host}/demo/app`), { maxAttempts: 1 });
    const err = await expectError(https.resolve('v1'));
    expect(err.code).toBe('REGISTRY_TLS');
    expect(err.hint).toBe('use --registry-ca FILE or --plain-http');
    expect(err.message).toMatch(
      /failed: wrong version number \(the server does not seem to speak TLS\) \(EPROTO\)$/,
    );
  });
});

describe('caps and malformed answers (a misbehaving registry, served by a loopback stub)', () => {
  const digest = sha256Digest('subject');
  let server: http.Server;
  let host: string;
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  beforeAll(async () => {
    server = http.createServer((req, res) => answer(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const open = () =>
    openRegistryStore(parseRegistryReference(`${host}/bad/app`), { plainHttp: true, maxAttempts: 1 });
  const entry = (i: number, artifactType = 'application/a') => ({
    mediaType: MediaType.ociManifest,
    digest: sha256Digest(String(i)),
    size: 10,
    artifactType,
  });
  const index = (manifests: unknown[]) =>
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });

  it('refuses a manifest over 4 MiB without reading it all', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.ociManifest });
      res.end(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    };
    const err = await expectError((await open()).fetchManifest('v1'));
    expect(err.code).toBe('TOO_LARGE');
  });
  it('refuses a manifest that is not a schemaVersion 2 manifest or index', async () => {
    answer = (_req, res) =>
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end('{"schemaVersion":1}');
    expect((await expectError((await open()).fetchManifest('v1'))).code).toBe('MANIFEST_INVALID');
    answer = (_req, res) => res.writeHead(200).end('not json');
    expect((await expectError((await open()).fetchManifest('v1'))).code).toBe('MANIFEST_INVALID');
  });
  it('applies the artifactType filter itself when the registry ignores it', async () => {
    answer = (_req, res) =>
      res
        .writeHead(200, { 'content-type': MediaType.ociIndex })
        .end(index([entry(1, 'application/a'), entry(2, 'application/b')]));
    const s = await open();
    expect((await s.referrersApi(digest, 'application/b'))?.map((d) => d.artifactType)).toEqual([
      'application/b',
    ]);
    expect(await s.referrersApi(digest)).toHaveLength(2);
  });
  it('follows Link pagination of the referrers list and refuses more than 10,000 entries', async () => {
    answer = (req, res) => {
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '0');
      const headers: Record<string, string> = { 'content-type': MediaType.ociIndex };
      if (page < 2) headers.link = `</v2/bad/app/referrers/${digest}?page=${page + 1}>; rel="next"`;
      res.writeHead(200, headers).end(index(Array.from({ length: 3 }, (_, i) => entry(page * 10 + i))));
    };
    expect(await (await open()).referrersApi(digest)).toHaveLength(9);
    answer = (_req, res) => res.writeHead(200).end(index(Array.from({ length: 10_001 }, (_, i) => entry(i))));
    expect((await expectError((await open()).referrersApi(digest))).code).toBe('TOO_MANY_REFERRERS');
  });
  it('refuses a referrers list with a malformed descriptor rather than skipping it', async () => {
    answer = (_req, res) =>
      res.writeHead(200).end(index([entry(1), { mediaType: 'x', digest: 'sha256:nothex', size: 1 }]));
    expect((await expectError((await open()).referrersApi(digest))).code).toBe('MANIFEST_INVALID');
  });
  it('a Docker-Content-Digest that disagrees with the bytes fetched by tag is a mismatch', async () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
    );
    answer = (_req, res) =>
      res
        .writeHead(200, {
          'content-type': MediaType.ociIndex,
          'docker-content-digest': sha256Digest('other'),
        })
        .end(bytes);
    expect((await expectError((await open()).fetchManifest('v1'))).code).toBe('DIGEST_MISMATCH');
  });
  it('a blob whose Content-Length disagrees with the descriptor is refused before streaming', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-length': '5' }).end('12345');
    const err = await expectError(
      (await open()).fetchBlob({ mediaType: 'x', digest: sha256Digest('1234'), size: 4 }),
    );
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toMatch(/announced 5 bytes/);
  });
});
