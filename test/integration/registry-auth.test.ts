import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import { Authenticator } from '../../src/oci/auth.js';
import { Transport } from '../../src/oci/transport.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { parseRegistryReference } from '../../src/oci/reference.js';
import { openRegistryStore, RegistrySession } from '../../src/oci/registry.js';
import { MediaType, type RegistryOptions } from '../../src/oci/types.js';
import { startRegistry, type RegistryAuth, type TestRegistry } from '../support/registry.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vouch-regauth-'));
const regs: Partial<Record<RegistryAuth, TestRegistry>> = {};
const IDENTITY_TOKEN = 'refresh-token-for-tests';

beforeAll(async () => {
  const [none, htpasswd, tls, token] = await Promise.all([
    startRegistry({ auth: 'none', name: 'auth-none' }),
    startRegistry({ auth: 'htpasswd' }),
    startRegistry({ auth: 'tls' }),
    startRegistry({ auth: 'token', identityToken: IDENTITY_TOKEN }),
  ]);
  Object.assign(regs, { none, htpasswd, tls, token });
});
afterAll(async () => {
  await Promise.all(Object.values(regs).map((r) => r.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

function optsFor(r: TestRegistry, creds = true): RegistryOptions {
  return {
    ...(r.plainHttp ? { plainHttp: true } : {}),
    ...(r.caFile ? { caFile: r.caFile } : {}),
    ...(creds && r.username ? { username: r.username, password: r.password } : {}),
    dockerConfigDir: path.join(tmp, 'empty'),
  };
}

async function roundTrip(r: TestRegistry, opts: RegistryOptions, repo = 'auth/app'): Promise<string> {
  const store = await openRegistryStore(parseRegistryReference(`${r.host}/${repo}`), opts);
  const cfg = Buffer.from('{}');
  const layer = Buffer.from(`layer for ${r.auth}`);
  for (const b of [cfg, layer])
    await store.pushBlob(
      { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length },
      b,
    );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociEmpty, digest: sha256Digest(cfg), size: 2 },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: sha256Digest(layer), size: layer.length }],
    }),
  );
  const d = await store.pushManifest(manifest, MediaType.ociManifest, 'v1');
  const back = await store.fetchManifest('v1');
  expect(back.bytes.equals(manifest)).toBe(true);
  expect(back.descriptor.digest).toBe(d.digest);
  store.close();
  return d.digest;
}

async function authFailure(p: Promise<unknown>): Promise<VouchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VouchError);
  return err as VouchError;
}

describe('the four registry variants', () => {
  it.each(['none', 'htpasswd', 'tls', 'token'] as const)('%s: push and pull round trip', async (auth) => {
    const r = regs[auth]!;
    expect(await roundTrip(r, optsFor(r))).toMatch(/^sha256:/);
  });
});

describe('bad or missing credentials → REGISTRY_AUTH, exit 3, one clear line without secrets', () => {
  it.each(['htpasswd', 'token'] as const)('%s: wrong password', async (auth) => {
    const r = regs[auth]!;
    const store = await openRegistryStore(parseRegistryReference(`${r.host}/auth/app`), {
      ...optsFor(r, false),
      username: r.username!,
      password: 'wrong-password-xyz',
    });
    const err = await authFailure(store.resolve('v1'));
    expect(err.code).toBe('REGISTRY_AUTH');
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(new RegExp(`^authentication to ${r.host} failed \\(401\\)`));
    expect(err.message).not.toContain('\n');
    expect(JSON.stringify(err.toJSON())).not.toContain('wrong-password-xyz');
    expect(err.hint).toMatch(/check the credentials/);
  });
  it.each(['htpasswd', 'token'] as const)('%s: no credentials at all', async (auth) => {
    const r = regs[auth]!;
    const store = await openRegistryStore(parseRegistryReference(`${r.host}/auth/app`), optsFor(r, false));
    const err = await authFailure(store.resolve('v1'));
    expect(err.code).toBe('REGISTRY_AUTH');
    expect(err.hint).toMatch(/docker login|--registry-username/);
  });
  it('tls: without the CA the TLS failure says what to do', async () => {
    const r = regs.tls!;
    const store = await openRegistryStore(parseRegistryReference(`${r.host}/auth/app`), {
      maxAttempts: 1,
      dockerConfigDir: path.join(tmp, 'empty'),
    });
    const err = await authFailure(store.resolve('v1'));
    expect(err.code).toBe('REGISTRY_TLS');
    expect(err.exitCode).toBe(3);
    expect(err.hint).toBe('use --registry-ca FILE or --plain-http');
  });
  it('tls: a CA file that is not PEM is bad input', async () => {
    const bogus = path.join(tmp, 'bogus.pem');
    writeFileSync(bogus, 'not a certificate');
    await expect(
      openRegistryStore(parseRegistryReference(`${regs.tls!.host}/a/b`), { caFile: bogus }),
    ).rejects.toMatchObject({ code: 'BAD_CA_FILE', exitCode: 2 });
  });
});

describe('credentials from the Docker config, by exact host', () => {
  it('htpasswd: auths entry for the exact host is used; a look-alike host entry is not', async () => {
    const r = regs.htpasswd!;
    const good = path.join(tmp, 'cfg-good');
    mkdirSync(good, { recursive: true });
    writeFileSync(
      path.join(good, 'config.json'),
      JSON.stringify({
        auths: {
          [`http://${r.host}/v2/`]: { auth: Buffer.from(`${r.username}:${r.password}`).toString('base64') },
        },
      }),
    );
    expect(await roundTrip(r, { plainHttp: true, dockerConfigDir: good }, 'cfg/app')).toMatch(/^sha256:/);

    const lookalike = path.join(tmp, 'cfg-lookalike');
    mkdirSync(lookalike, { recursive: true });
    writeFileSync(
      path.join(lookalike, 'config.json'),
      JSON.stringify({
        auths: {
          [`${r.host}0`]: { auth: Buffer.from(`${r.username}:${r.password}`).toString('base64') },
          '127.0.0.1': { auth: Buffer.from(`${r.username}:${r.password}`).toString('base64') },
        },
      }),
    );
    const store = await openRegistryStore(parseRegistryReference(`${r.host}/cfg/app`), {
      plainHttp: true,
      dockerConfigDir: lookalike,
    });
    expect((await authFailure(store.resolve('v1'))).code).toBe('REGISTRY_AUTH');
  });
  it('token: an identitytoken is used as refresh token in the OAuth2 POST flow', async () => {
    const r = regs.token!;
    const dir = path.join(tmp, 'cfg-idtoken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          [r.host]: { auth: Buffer.from('<token>:').toString('base64'), identitytoken: IDENTITY_TOKEN },
        },
      }),
    );
    const before = r.tokenIssuer!.requests.length;
    expect(await roundTrip(r, { plainHttp: true, dockerConfigDir: dir }, 'idtoken/app')).toMatch(/^sha256:/);
    const mine = r.tokenIssuer!.requests.slice(before);
    expect(mine.length).toBeGreaterThan(0);
    expect(
      mine.every((q) => q.method === 'POST' && q.grantType === 'refresh_token' && q.status === 200),
    ).toBe(true);
  });
});

describe('bearer tokens', () => {
  it('caches tokens per scope and asks for both scopes in one request for a cross-repository mount', async () => {
    const r = regs.token!;
    const session = new RegistrySession(optsFor(r));
    const src = await openRegistryStore(parseRegistryReference(`${r.host}/mount/src`), {}, session);
    const dst = await openRegistryStore(parseRegistryReference(`${r.host}/mount/dst`), {}, session);
    const b = Buffer.from('mount across repositories with one token');
    const desc = { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length };
    const issuer = r.tokenIssuer!;
    const start = issuer.requests.length;
    await src.pushBlob(desc, b);
    await src.pushBlob(desc, b);
    expect(await src.hasBlob(desc.digest)).toBe(true);
    expect(await src.hasBlob(desc.digest)).toBe(true);
    const afterPush = issuer.requests.slice(start);
    // one token for pull,push and one for pull, each fetched once and then reused
    expect(afterPush.map((q) => q.scopes.join(' ')).sort()).toEqual([
      'repository:mount/src:pull',
      'repository:mount/src:pull,push',
    ]);

    expect(await dst.mountBlob(desc, 'mount/src')).toBe(true);
    const mountReqs = issuer.requests.slice(start + afterPush.length);
    expect(mountReqs).toHaveLength(1);
    expect(mountReqs[0]!.scopes).toEqual(['repository:mount/dst:pull,push', 'repository:mount/src:pull']);
    expect(mountReqs[0]!.user).toBe(r.username);
    expect(mountReqs[0]!.service).toBe(issuer.service);
    expect(await dst.hasBlob(desc.digest)).toBe(true);
    session.close();
  });
  it('fetches a new token once the cached one is about to expire', async () => {
    // 11 s tokens are renewed 10 s early: cached for about one second.
    const r = await startRegistry({ auth: 'token', name: 'short-tokens', tokenExpiresIn: 11 });
    try {
      const store = await openRegistryStore(parseRegistryReference(`${r.host}/short/app`), optsFor(r));
      const b = Buffer.from('short-lived tokens');
      const desc = { mediaType: 'application/octet-stream', digest: sha256Digest(b), size: b.length };
      await store.pushBlob(desc, b);
      expect(await store.hasBlob(desc.digest)).toBe(true);
      expect(await store.hasBlob(desc.digest)).toBe(true);
      const pulls = () =>
        r.tokenIssuer!.requests.filter((q) => q.scopes.join(' ') === 'repository:short/app:pull').length;
      expect(pulls()).toBe(1);
      await new Promise((res) => setTimeout(res, 1300));
      expect(await store.hasBlob(desc.digest)).toBe(true);
      expect(pulls()).toBe(2);
      store.close();
    } finally {
      await r.stop();
    }
  });
});

describe('credentials never travel in clear text to a token realm unless plain HTTP was chosen', () => {
  it('refuses to send credentials to an http realm of an https registry', async () => {
    const seen: string[] = [];
    const realm = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? 'none');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
    });
    await new Promise<void>((r) => realm.listen(0, '127.0.0.1', r));
    const port = (realm.address() as AddressInfo).port;
    const transport = new Transport({});
    try {
      const auth = new Authenticator(transport, { username: 'u', password: 'secret-pw' });
      const challenge = `Bearer realm="http://127.0.0.1:${port}/token",service="s"`;
      const ctx = { registry: 'registry.example', host: 'registry.example' };
      const err = await auth.onChallenge(ctx, challenge, ['repository:a/b:pull']).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REGISTRY_AUTH', exitCode: 3 });
      expect((err as Error).message).toMatch(/plain-http token realm/);
      expect(seen).toEqual([]);
      // with --plain-http the user accepted clear text: the token flow proceeds
      const plain = new Authenticator(transport, { username: 'u', password: 'secret-pw', plainHttp: true });
      expect(await plain.onChallenge(ctx, challenge, ['repository:a/b:pull'])).toBe(true);
      expect(seen).toEqual([`Basic ${Buffer.from('u:secret-pw').toString('base64')}`]);
      expect(await plain.authorization(ctx, ['repository:a/b:pull'])).toBe('Bearer t');
    } finally {
      transport.close();
      realm.closeAllConnections();
      await new Promise<void>((r) => realm.close(() => r()));
    }
  });
});
