import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { parseRegistryReference } from '../../src/oci/reference.js';
import { openRegistryStore, type RegistryStore } from '../../src/oci/registry.js';
import { MediaType, type Descriptor } from '../../src/oci/types.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let reg: TestRegistry;
let proxy: FaultProxy;
let store: RegistryStore;
const layerBytes = Buffer.from('fault injection layer '.repeat(200));
const layer: Descriptor = {
  mediaType: MediaType.ociLayerTar,
  digest: sha256Digest(layerBytes),
  size: layerBytes.length,
};
const cfg = Buffer.from('{}');
let manifest: Descriptor;

async function readAll(s: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}
async function failure(p: Promise<unknown>): Promise<VouchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VouchError);
  return err as VouchError;
}

beforeAll(async () => {
  reg = await startRegistry({ auth: 'htpasswd', name: 'faults' });
  proxy = await startFaultProxy(reg.host);
  store = await openRegistryStore(parseRegistryReference(`${proxy.host}/faults/app`), {
    plainHttp: true,
    username: reg.username,
    password: reg.password,
    backoffMs: 10,
  });
  await store.pushBlob({ mediaType: MediaType.ociEmpty, digest: sha256Digest(cfg), size: 2 }, cfg);
  await store.pushBlob(layer, layerBytes);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociEmpty, digest: sha256Digest(cfg), size: 2 },
      layers: [layer],
    }),
  );
  manifest = await store.pushManifest(bytes, MediaType.ociManifest, 'v1');
});
afterAll(async () => {
  store?.close();
  await proxy?.stop();
  await reg?.stop();
});
beforeEach(() => proxy.clearRules());

describe('retries', () => {
  it('429 with Retry-After is retried after the wait and succeeds', async () => {
    proxy.addRule({
      method: 'GET',
      path: /\/manifests\/v1$/,
      fault: { kind: 'status', status: 429, retryAfter: '1' },
    });
    const before = proxy.count('GET', /\/manifests\/v1$/);
    const t0 = Date.now();
    expect((await store.fetchManifest('v1')).descriptor.digest).toBe(manifest.digest);
    // waited for Retry-After (≥ ~1 s) rather than the 10 ms backoff; not a speed assertion
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(proxy.count('GET', /\/manifests\/v1$/) - before).toBe(2);
  });
  it('503 twice on a blob GET is retried and the blob arrives verified', async () => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, times: 2, fault: { kind: 'status', status: 503 } });
    const before = proxy.count('GET', /\/blobs\//);
    expect((await readAll(await store.fetchBlob(layer))).equals(layerBytes)).toBe(true);
    expect(proxy.count('GET', /\/blobs\//) - before).toBe(3);
  });
  it('a reset connection on HEAD is retried', async () => {
    proxy.addRule({ method: 'HEAD', path: /\/blobs\//, fault: { kind: 'reset' } });
    expect(await store.hasBlob(layer.digest)).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'HEAD' && r.fault === 'reset').length).toBeGreaterThan(
      0,
    );
  });
  it('500 on a buffered upload PUT is retried', async () => {
    const b = Buffer.from('upload retried after 500');
    proxy.addRule({ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 500 } });
    await store.pushBlob(
      { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length },
      b,
    );
    expect(await store.hasBlob(sha256Digest(b))).toBe(true);
  });
  it('persistent 503 gives up after maxAttempts with the status in the message', async () => {
    const s = await openRegistryStore(parseRegistryReference(`${proxy.host}/faults/app`), {
      plainHttp: true,
      username: reg.username,
      password: reg.password,
      backoffMs: 5,
      maxAttempts: 3,
    });
    proxy.addRule({
      method: 'GET',
      path: /\/manifests\/v1$/,
      times: Infinity,
      fault: { kind: 'status', status: 503 },
    });
    const before = proxy.count('GET', /\/manifests\/v1$/);
    const err = await failure(s.fetchManifest('v1'));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/answered 503 .*after 3 attempts/);
    // 1 anonymous attempt is not made: the store already learned the challenge? No: fresh session → 401 first
    expect(proxy.count('GET', /\/manifests\/v1$/) - before).toBeGreaterThanOrEqual(3);
    s.close();
  });
  it('a streamed upload that fails mid-way is not retried', async () => {
    const b = Buffer.from('streamed and cut');
    proxy.addRule({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'reset' } });
    const before = proxy.count('PATCH');
    const err = await failure(
      store.pushBlob(
        { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length },
        Readable.from([b]),
      ),
    );
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(proxy.count('PATCH') - before).toBe(1);
  });
  it('a streamed body never rides on a pooled keep-alive connection', async () => {
    const b = Buffer.from('streamed on its own connection');
    const before = proxy.requests.length;
    await store.pushBlob(
      { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length },
      Readable.from([b]),
    );
    const mine = proxy.requests.slice(before);
    const patch = mine.find((q) => q.method === 'PATCH')!;
    const others = proxy.requests.filter((q) => q !== patch).map((q) => q.clientPort);
    expect(others).not.toContain(patch.clientPort);
    // while buffered requests do share connections
    expect(new Set(others).size).toBeLessThan(others.length);
  });
  it('a stream factory upload is restarted with a fresh stream', async () => {
    const b = Buffer.from('streamed from a factory, cut once');
    proxy.addRule({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 503 } });
    let made = 0;
    await store.pushBlob(
      { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length },
      () => (made++, Readable.from([b])),
    );
    expect(made).toBe(2);
    expect(await store.hasBlob(sha256Digest(b))).toBe(true);
  });
});

describe('altered content is refused', () => {
  it('a byte-flipped blob → DIGEST_MISMATCH while streaming', async () => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'flip', offset: 100 } });
    const err = await failure(readAll(await store.fetchBlob(layer)));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`does not match ${layer.digest}`);
  });
  it('a truncated blob (short body, matching Content-Length) → DIGEST_MISMATCH', async () => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'truncate', keep: 50 } });
    const err = await failure(store.fetchBlob(layer).then(readAll));
    expect(err.code).toBe('DIGEST_MISMATCH');
  });
  it('a connection cut mid-body is a network failure, not a silent short read', async () => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'cut', keep: 100 } });
    const err = await failure(store.fetchBlob(layer).then(readAll));
    expect(err.code).toBe('REGISTRY_UNREACHABLE');
    expect(err.message).toMatch(/connection lost while reading blob/);
  });
  it('a byte-flipped manifest → DIGEST_MISMATCH, by digest and by tag (Docker-Content-Digest)', async () => {
    proxy.addRule({ method: 'GET', path: /\/manifests\//, times: 2, fault: { kind: 'flip', offset: 3 } });
    expect((await failure(store.fetchManifest(manifest.digest))).code).toBe('DIGEST_MISMATCH');
    expect((await failure(store.fetchManifest('v1'))).code).toBe('DIGEST_MISMATCH');
  });
});

describe('fetched blob streams are safe to hold across awaits', () => {
  it('nothing flows before the first read; a flipped byte then fails that read (no unheard error)', async () => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'flip', offset: 0 } });
    const s = await store.fetchBlob(layer);
    await new Promise((r) => setTimeout(r, 150));
    expect(s.destroyed).toBe(false);
    expect((await failure(readAll(s))).code).toBe('DIGEST_MISMATCH');
  });
  it('a connection lost before the first read is raised on that read', async () => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'cut', keep: 10 } });
    const s = await store.fetchBlob(layer);
    await new Promise((r) => setTimeout(r, 150));
    expect((await failure(readAll(s))).code).toBe('REGISTRY_UNREACHABLE');
  });
  it('a corrupt source streamed into another repository aborts the upload; nothing is stored', async () => {
    const dst = await openRegistryStore(parseRegistryReference(`${reg.host}/faults/copy-dst`), {
      plainHttp: true,
      username: reg.username,
      password: reg.password,
    });
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'flip', offset: 4000 } });
    const src = await store.fetchBlob(layer);
    expect((await failure(dst.pushBlob(layer, src))).code).toBe('DIGEST_MISMATCH');
    expect(await dst.hasBlob(layer.digest)).toBe(false);
    // and a clean copy of the same blob goes through
    await dst.pushBlob(layer, await store.fetchBlob(layer));
    expect(await dst.hasBlob(layer.digest)).toBe(true);
    dst.close();
  });
});

describe('redirects', () => {
  it('follows a blob redirect to another host without the Authorization header', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    // "object storage": another loopback server that records headers and serves the blob
    const storage = http.createServer((req, res) => {
      seen.push(req.headers);
      res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(layerBytes.length),
        })
        .end(layerBytes);
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`;
    try {
      proxy.addRule({
        method: 'GET',
        path: /\/blobs\/sha256:/,
        fault: { kind: 'redirect', location: (p) => `http://${storageHost}/bucket${p}?X-Sig=abc` },
      });
      const before = proxy.requests.length;
      expect((await readAll(await store.fetchBlob(layer))).equals(layerBytes)).toBe(true);
      const toRegistry = proxy.requests.slice(before).filter((q) => q.fault === 'redirect');
      expect(toRegistry).toHaveLength(1);
      expect(toRegistry[0]!.headers.authorization).toMatch(/^Basic /);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.authorization).toBeUndefined();
    } finally {
      storage.closeAllConnections();
      await new Promise<void>((r) => storage.close(() => r()));
    }
  });
  it('a redirect loop ends with a clear error', async () => {
    proxy.addRule({
      method: 'GET',
      path: /\/blobs\/sha256:/,
      times: Infinity,
      fault: { kind: 'redirect', location: (p) => p },
    });
    const err = await failure(store.fetchBlob(layer));
    expect(err.code).toBe('REGISTRY_REDIRECTS');
  });
});
