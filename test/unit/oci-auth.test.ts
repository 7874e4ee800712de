import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import {
  canonicalRegistryHost,
  parseChallenges,
  resolveCredentials,
  runCredentialHelper,
} from '../../src/oci/auth.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vouch-auth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function configDir(name: string, config: unknown): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('canonicalRegistryHost', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['http://127.0.0.1:5000', '127.0.0.1:5000'],
    ['https://GHCR.io/v2/', 'ghcr.io'],
    ['evil.docker.io.example', 'evil.docker.io.example'],
  ])('%s → %s', (key, want) => expect(canonicalRegistryHost(key)).toBe(want));
});

describe('resolveCredentials from config.json', () => {
  it('uses only the exact canonical host, never a substring match', async () => {
    const dir = configDir('exact', {
      auths: {
        'evil.docker.io.example': { auth: b64('evil:evilpass') },
        'https://index.docker.io/v1/': { auth: b64('hub:hubpass') },
        'ghcr.io.attacker.test': { auth: b64('x:y') },
      },
    });
    expect(await resolveCredentials('docker.io', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'hub',
      password: 'hubpass',
    });
    expect(await resolveCredentials('evil.docker.io.example', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'evil',
      password: 'evilpass',
    });
    expect(await resolveCredentials('ghcr.io', { dockerConfigDir: dir })).toBeUndefined();
    expect(await resolveCredentials('docker.io.example', { dockerConfigDir: dir })).toBeUndefined();
  });
  it('reads username/password and identitytoken entries; passwords may hold colons', async () => {
    const dir = configDir('fields', {
      auths: {
        '127.0.0.1:5000': { username: 'u', password: 'p' },
        'http://reg.test:8443/': { auth: b64('u2:pa:ss') },
        'oauth.test': { auth: b64('<token>:'), identitytoken: 'refresh-123' },
      },
    });
    expect(await resolveCredentials('127.0.0.1:5000', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'u',
      password: 'p',
    });
    expect(await resolveCredentials('reg.test:8443', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'u2',
      password: 'pa:ss',
    });
    expect(await resolveCredentials('oauth.test', { dockerConfigDir: dir })).toEqual({
      kind: 'identityToken',
      token: 'refresh-123',
    });
  });
  it('explicit credentials win; a missing config means anonymous', async () => {
    const dir = configDir('explicit', { auths: { 'ghcr.io': { auth: b64('cfg:cfg') } } });
    expect(
      await resolveCredentials('ghcr.io', { dockerConfigDir: dir, username: 'me', password: 'pw' }),
    ).toEqual({ kind: 'basic', username: 'me', password: 'pw' });
    expect(await resolveCredentials('ghcr.io', { dockerConfigDir: path.join(tmp, 'nope') })).toBeUndefined();
  });
  it('DOCKER_CONFIG is used when no dir is given', async () => {
    const dir = configDir('envdir', { auths: { 'env.test': { auth: b64('e:f') } } });
    const old = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dir;
    try {
      expect(await resolveCredentials('env.test', {})).toEqual({
        kind: 'basic',
        username: 'e',
        password: 'f',
      });
    } finally {
      if (old === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = old;
    }
  });
  it('invalid JSON is bad input and does not echo the file content', async () => {
    const dir = configDir('broken', '{"auths": {"x": {"auth": "c2VjcmV0OnB3"}');
    const err = await resolveCredentials('x', { dockerConfigDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VouchError);
    expect((err as VouchError).exitCode).toBe(2);
    expect((err as VouchError).message).toMatch(/not valid JSON/);
    expect((err as VouchError).message).not.toMatch(/c2VjcmV0/);
  });
  it('username without password is bad input', async () => {
    await expect(resolveCredentials('x', { username: 'u' })).rejects.toMatchObject({
      code: 'BAD_CREDENTIALS',
      exitCode: 2,
    });
  });
});

describe('credential helpers', () => {
  const bin = path.join(tmp, 'bin');
  let oldPath: string | undefined;
  beforeAll(() => {
    mkdirSync(bin, { recursive: true });
    // A tiny docker-credential-test: records the server URL it was asked about, answers by host.
    writeFileSync(
      path.join(bin, 'docker-credential-test'),
      `#!/bin/sh
[ "$1" = get ] || exit 3
read server
echo "$server" >> "${path.join(tmp, 'helper.log')}"
case "$server" in
  helper.test) echo '{"ServerURL":"helper.test","Username":"hu","Secret":"hs"}' ;;
  https://index.docker.io/v1/) echo '{"Username":"hub","Secret":"hubsecret"}' ;;
  token.test) echo '{"Username":"<token>","Secret":"idtok"}' ;;
  broken.test) echo 'not json' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    chmodSync(path.join(bin, 'docker-credential-test'), 0o755);
    oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
  });
  afterAll(() => {
    process.env.PATH = oldPath;
  });

  it('runs docker-credential-NAME get with the server URL on stdin', async () => {
    expect(await runCredentialHelper('test', 'helper.test')).toEqual({
      kind: 'basic',
      username: 'hu',
      password: 'hs',
    });
    expect(await runCredentialHelper('test', 'docker.io')).toEqual({
      kind: 'basic',
      username: 'hub',
      password: 'hubsecret',
    });
    expect(await runCredentialHelper('test', 'token.test')).toEqual({
      kind: 'identityToken',
      token: 'idtok',
    });
    expect(await runCredentialHelper('test', 'unknown.test')).toBeUndefined();
    expect(readFileSync(path.join(tmp, 'helper.log'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['helper.test', 'https://index.docker.io/v1/', 'token.test', 'unknown.test']),
    );
  });
  it('invalid helper output and missing helpers are errors with hints', async () => {
    await expect(runCredentialHelper('test', 'broken.test')).rejects.toMatchObject({
      code: 'CREDENTIAL_HELPER',
      exitCode: 3,
    });
    await expect(runCredentialHelper('absent', 'x.test')).rejects.toMatchObject({
      code: 'CREDENTIAL_HELPER',
      exitCode: 2,
    });
    await expect(runCredentialHelper('../evil', 'x.test')).rejects.toMatchObject({ code: 'DOCKER_CONFIG' });
  });
  it('credHelpers (exact host) win over credsStore, which wins over auths', async () => {
    const dir = configDir('helpers', {
      credsStore: 'test',
      credHelpers: { 'helper.test': 'test', 'other.test': 'absent' },
      auths: { 'unknown.test': { auth: b64('file:filepass') }, 'helper.test': { auth: b64('no:no') } },
    });
    expect(await resolveCredentials('helper.test', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'hu',
      password: 'hs',
    });
    expect(await resolveCredentials('docker.io', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'hub',
      password: 'hubsecret',
    });
    // the store has nothing for this host: the file entry is used
    expect(await resolveCredentials('unknown.test', { dockerConfigDir: dir })).toEqual({
      kind: 'basic',
      username: 'file',
      password: 'filepass',
    });
    await expect(resolveCredentials('other.test', { dockerConfigDir: dir })).rejects.toMatchObject({
      code: 'CREDENTIAL_HELPER',
    });
  });
});

describe('parseChallenges', () => {
  it('parses a Bearer challenge with quoted params', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/alpine:pull',
        },
      },
    ]);
  });
  it('keeps commas inside quotes and handles escapes, spaces and unquoted values', () => {
    expect(
      parseChallenges(
        'bearer realm="http://a/t", scope="repository:a:pull,push repository:b:pull" , error=insufficient_scope, x="q\\"uote"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'http://a/t',
          scope: 'repository:a:pull,push repository:b:pull',
          error: 'insufficient_scope',
          x: 'q"uote',
        },
      },
    ]);
  });
  it('splits several challenges', () => {
    expect(parseChallenges('Basic realm="Registry Realm", Bearer realm="https://t/x",service="s"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } },
    ]);
    expect(parseChallenges(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme)).toEqual([
      'basic',
      'bearer',
    ]);
  });
  it('returns nothing for a missing header', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });
});
