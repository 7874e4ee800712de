import { describe, expect, it } from 'vitest';
import { compilePattern, findMatch, locationName, matchesPattern } from '../../src/promote/patterns.js';
import type { Reference } from '../../src/oci/types.js';

const reg = (registry: string, repository: string, tag?: string): Reference => ({
  kind: 'registry',
  registry,
  repository,
  tag,
});
const lay = (path: string, tag?: string): Reference => ({ kind: 'layout', path, tag });

describe('promotion allowlist patterns', () => {
  it('names locations without tag or digest', () => {
    expect(locationName(reg('127.0.0.1:5000', 'staging/app', 'v1'))).toBe('127.0.0.1:5000/staging/app');
    expect(locationName(lay('/tmp/x/staging', 'v1'))).toBe('oci:/tmp/x/staging');
  });

  it.each([
    ['127.0.0.1:5000/staging/*', reg('127.0.0.1:5000', 'staging/app'), true],
    ['127.0.0.1:5000/staging/*', reg('127.0.0.1:5000', 'staging/team/app'), false],
    ['127.0.0.1:5000/staging/**', reg('127.0.0.1:5000', 'staging/team/app'), true],
    ['127.0.0.1:5000/staging/**', reg('127.0.0.1:5000', 'stagingx/app'), false],
    ['127.0.0.1:5000/staging/**', reg('127.0.0.1:5001', 'staging/app'), false],
    ['ghcr.io/acme/**/app', reg('ghcr.io', 'acme/app'), true],
    ['ghcr.io/acme/**/app', reg('ghcr.io', 'acme/a/b/app'), true],
    ['ghcr.io/acme/**/app', reg('ghcr.io', 'acme/a/b/app2'), false],
    ['ghcr.io/acme/app-*', reg('ghcr.io', 'acme/app-web'), true],
    ['ghcr.io/acme/app', reg('ghcr.io', 'acme/app'), true],
    ['ghcr.io/acme/app', reg('ghcr.io', 'acme/app2'), false],
    ['*.example.com/prod/*', reg('eu.example.com', 'prod/app'), true],
    ['*.example.com/prod/*', reg('evil.com/x.example.com', 'prod/app'), false],
    // `.` is literal, not "any character".
    ['127.0.0.1:5000/prod/app', reg('127x0x0x1:5000', 'prod/app'), false],
    ['docker.io/library/*', reg('docker.io', 'library/alpine'), true],
  ])('%s vs %j → %s', (pattern, ref, want) => {
    expect(matchesPattern(pattern, ref)).toBe(want);
  });

  it('matches layouts by absolute path, resolving relative patterns against the policy directory', () => {
    expect(matchesPattern('oci:/w/staging', lay('/w/staging'))).toBe(true);
    expect(matchesPattern('oci:/w/staging', lay('/w/staging2'))).toBe(false);
    expect(matchesPattern('oci:staging', lay('/w/staging'), '/w')).toBe(true);
    expect(matchesPattern('oci:./staging/', lay('/w/staging'), '/w')).toBe(true);
    expect(matchesPattern('oci:staging', lay('/elsewhere/staging'), '/w')).toBe(false);
    expect(matchesPattern('oci:/w/*', lay('/w/prod'))).toBe(true);
    expect(matchesPattern('oci:/w/*', lay('/w/a/prod'))).toBe(false);
    expect(matchesPattern('oci:/w/**', lay('/w/a/prod'))).toBe(true);
  });

  it('never matches a layout with a registry pattern or the other way round', () => {
    expect(matchesPattern('*/**', lay('/w/staging'))).toBe(false);
    expect(matchesPattern('oci:/**', reg('oci', 'x'))).toBe(false);
    expect(findMatch(['oci:/w/**', 'ghcr.io/**'], reg('ghcr.io', 'acme/app'))).toBe('ghcr.io/**');
  });

  it.each([
    ['', 'empty'],
    ['ghcr.io/acme/app:v1', 'not tags'],
    ['ghcr.io/acme/app@sha256:00', 'not digests'],
    ['https://ghcr.io/acme/app', 'no URL scheme'],
    ['app', 'REGISTRY/REPOSITORY'],
    ['oci:', 'no layout path'],
  ])('refuses the malformed pattern %j (exit 2)', (pattern, what) => {
    let err: unknown;
    try {
      compilePattern(pattern, '/w');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ exitCode: 2, code: 'BAD_PROMOTION_PATTERN' });
    expect((err as Error).message).toContain(what);
  });

  it('refuses a relative layout pattern without a policy directory', () => {
    expect(() => compilePattern('oci:staging')).toThrow(/relative layout path/);
  });
});
