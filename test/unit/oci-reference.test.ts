import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VouchError } from '../../src/errors.js';
import {
  apiHost,
  formatReference,
  parseReference,
  parseRegistryReference,
  repositoryName,
  withDigest,
  withTag,
} from '../../src/oci/reference.js';

const D = 'sha256:' + 'a'.repeat(64);
const D512 = 'sha512:' + 'b'.repeat(128);

describe('parseReference: registry references', () => {
  const table: [string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
    ['alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['library/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['acme/app:v1', { registry: 'docker.io', repository: 'acme/app', tag: 'v1' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/acme/app', { registry: 'docker.io', repository: 'acme/app' }],
    ['registry-1.docker.io/acme/app', { registry: 'docker.io', repository: 'acme/app' }],
    ['ghcr.io/acme/app:1.4.0', { registry: 'ghcr.io', repository: 'acme/app', tag: '1.4.0' }],
    ['GHCR.IO/acme/app', { registry: 'ghcr.io', repository: 'acme/app' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:latest', { registry: 'localhost:5000', repository: 'app', tag: 'latest' }],
    ['127.0.0.1:5000/demo/app', { registry: '127.0.0.1:5000', repository: 'demo/app' }],
    ['[::1]:5000/x', { registry: '[::1]:5000', repository: 'x' }],
    ['[::1]/x:t', { registry: '[::1]', repository: 'x', tag: 't' }],
    [`127.0.0.1:5000/demo/app@${D}`, { registry: '127.0.0.1:5000', repository: 'demo/app', digest: D }],
    [
      `127.0.0.1:5000/demo/app:v1@${D}`,
      { registry: '127.0.0.1:5000', repository: 'demo/app', tag: 'v1', digest: D },
    ],
    [`alpine@${D512}`, { registry: 'docker.io', repository: 'library/alpine', digest: D512 }],
    ['a.io/x__y/a-b--c/d.e_f:_T.a-g', { registry: 'a.io', repository: 'x__y/a-b--c/d.e_f', tag: '_T.a-g' }],
    [
      'example.com:443/deep/nested/path/app',
      { registry: 'example.com:443', repository: 'deep/nested/path/app' },
    ],
  ];
  for (const [input, want] of table) {
    it(`${input}`, () => {
      expect(parseReference(input)).toEqual({ kind: 'registry', ...want });
    });
  }
});

describe('parseReference: errors are BAD_REFERENCE, exit 2, naming the problem', () => {
  const table: [string, RegExp][] = [
    ['', /empty reference/],
    ['Alpine', /must be lowercase/],
    ['ghcr.io/Acme/app', /must be lowercase/],
    ['ghcr.io/acme//app', /empty path component/],
    ['ghcr.io/acme/app:', /bad tag ""/],
    ['ghcr.io/acme/app:.bad', /bad tag/],
    ['ghcr.io/acme/app:' + 'x'.repeat(129), /bad tag/],
    ['ghcr.io/acme/app@sha256:abc', /bad digest/],
    ['ghcr.io/acme/app@md5:' + 'a'.repeat(32), /bad digest/],
    [`ghcr.io/acme/app@sha256:${'A'.repeat(64)}`, /bad digest/],
    ['ghcr.io/acme/-app', /bad repository path component/],
    ['ghcr.io/acme/app_', /bad repository path component/],
    ['ghcr.io:99999/app', /port out of range/],
    ['ghcr.io:http/app', /bad port/],
    ['[::1/app', /bad IPv6 host/],
    ['bad_host.io/app', /bad registry host/],
    ['ghcr.io/acme app', /whitespace/],
    ['ghcr.io/', /missing repository name/],
    ['oci:', /missing layout path/],
    ['oci::v1', /missing layout path/],
    ['oci:/tmp/x@sha256:1', /bad digest/],
    ['oci:/tmp/x:-v', /bad tag/],
    [`a.io/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, why] of table) {
    it(JSON.stringify(input.slice(0, 40)), () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(VouchError);
      const ve = err as VouchError;
      expect(ve.code).toBe('BAD_REFERENCE');
      expect(ve.exitCode).toBe(2);
      expect(ve.message).toMatch(/^invalid reference "/);
      expect(ve.message).toMatch(why);
      expect(ve.hint).toBeTruthy();
    });
  }
});

describe('parseReference: OCI layouts', () => {
  it('makes the path absolute', () => {
    expect(parseReference('oci:lay')).toEqual({ kind: 'layout', path: path.resolve('lay') });
  });
  it('takes a tag after the last slash', () => {
    expect(parseReference('oci:/tmp/lay:v1')).toEqual({ kind: 'layout', path: '/tmp/lay', tag: 'v1' });
  });
  it('keeps a colon inside a directory name as part of the path', () => {
    expect(parseReference('oci:/tmp/my:dir/lay')).toEqual({ kind: 'layout', path: '/tmp/my:dir/lay' });
    expect(parseReference('oci:/tmp/my:dir/lay:v2')).toEqual({
      kind: 'layout',
      path: '/tmp/my:dir/lay',
      tag: 'v2',
    });
  });
  it('takes a digest', () => {
    expect(parseReference(`oci:/tmp/lay@${D}`)).toEqual({ kind: 'layout', path: '/tmp/lay', digest: D });
  });
  it('parseRegistryReference refuses layouts', () => {
    expect(() => parseRegistryReference('oci:/tmp/lay')).toThrow(/expected a registry reference/);
  });
});

describe('formatting and rewriting', () => {
  it('formats canonically and round-trips', () => {
    for (const s of [
      'docker.io/library/alpine:3',
      `127.0.0.1:5000/demo/app:v1@${D}`,
      '[::1]:5000/x',
      `oci:/tmp/lay@${D}`,
      'oci:/tmp/lay:v1',
    ]) {
      expect(formatReference(parseReference(s))).toBe(s);
    }
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine');
  });
  it('repositoryName drops tag and digest', () => {
    expect(repositoryName(parseReference(`127.0.0.1:5000/demo/app:v1@${D}`))).toBe('127.0.0.1:5000/demo/app');
    expect(repositoryName(parseReference('oci:/tmp/lay:v1'))).toBe('oci:/tmp/lay');
  });
  it('withDigest pins, withTag retags and drops the digest', () => {
    const r = parseRegistryReference('127.0.0.1:5000/demo/app:v1');
    expect(withDigest(r, D)).toEqual({ ...r, digest: D });
    expect(withTag(withDigest(r, D), 'v2')).toEqual({
      kind: 'registry',
      registry: '127.0.0.1:5000',
      repository: 'demo/app',
      tag: 'v2',
    });
    expect(() => withDigest(r, 'sha256:zz')).toThrow(VouchError);
    expect(() => withTag(r, 'a b')).toThrow(VouchError);
  });
  it('maps docker.io to its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });
});
