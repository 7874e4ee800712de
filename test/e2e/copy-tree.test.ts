/**
 * `vouch copy` and `vouch tree` as a user runs them: the built CLI as a subprocess against
 * real registries and layouts, cross-checked with skopeo.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, parseReference } from '../../src/oci/index.js';
import { hasStackTrace, NODE, ROOT, runVouch } from '../support/cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { attachTestReferrer } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let r1: TestRegistry;
let r2: TestRegistry;
let dir: string;
let digest: string;
let referrer: string;

function mklayout(dest: string, tag: string, bytes = 65536): string {
  return execFileSync(NODE, [path.join(ROOT, 'scripts/mklayout.mjs'), dest, tag, String(bytes)], {
    encoding: 'utf8',
  }).trim();
}

function skopeoDigest(ref: string): string {
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  return 'sha256:' + createHash('sha256').update(raw).digest('hex');
}

interface TreeJson {
  digest: string;
  platform?: { architecture: string };
  children: TreeJson[];
  referrers: TreeJson[];
  predicateType?: string;
}

beforeAll(async () => {
  [r1, r2] = await Promise.all([
    startRegistry({ name: 'e2e-copy-1' }),
    startRegistry({ name: 'e2e-copy-2' }),
  ]);
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-e2e-copy-'));
  digest = mklayout(path.join(dir, 'lay'), 'v1');
});
afterAll(async () => {
  await Promise.all([r1?.stop(), r2?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('vouch copy and vouch tree', () => {
  it('copies a layout to a registry, then to another registry with its referrer, digests identical', async () => {
    const first = await runVouch([
      'copy',
      `oci:${dir}/lay:v1`,
      `${r1.host}/demo/app:v1`,
      '--plain-http',
      '--json',
    ]);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as {
      source: { digest: string };
      destination: { digest: string };
      blobs: { copied: number };
    };
    expect(out.source.digest).toBe(digest);
    expect(out.destination.digest).toBe(digest);
    expect(out.blobs.copied).toBe(4);
    expect(skopeoDigest(`${r1.host}/demo/app:v1`)).toBe(digest);

    const store = await openStore(parseReference(`${r1.host}/demo/app`), { plainHttp: true });
    const root = await store.resolve(digest);
    referrer = (await attachTestReferrer(store, root, 'e2e-sig')).digest;

    // No tag on DST: the source tag is used.
    const second = await runVouch(['copy', `${r1.host}/demo/app:v1`, `${r2.host}/prod/app`, '--plain-http']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`digest:      ${digest}`);
    expect(second.stdout).toMatch(/blobs:\s+\d+ copied, 0 mounted, 0 skipped/);
    expect(second.stdout).toContain('referrers:   1');
    expect(second.stderr).toContain('copied');
    expect(skopeoDigest(`${r2.host}/prod/app:v1`)).toBe(digest);
    expect(skopeoDigest(`${r2.host}/prod/app@${referrer}`)).toBe(referrer);
  });

  it('tree --json shows the platforms and the referrer', async () => {
    const res = await runVouch(['tree', `${r2.host}/prod/app:v1`, '--plain-http', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const t = JSON.parse(res.stdout) as TreeJson;
    expect(t.digest).toBe(digest);
    expect(t.children.map((c) => c.platform?.architecture)).toEqual(['amd64', 'arm64']);
    expect(t.referrers.map((x) => x.digest)).toEqual([referrer]);
    expect(t.referrers[0]?.predicateType).toBe('https://slsa.dev/provenance/v1');
  });

  it('tree prints an indented tree for humans', async () => {
    const res = await runVouch(['tree', `${r2.host}/prod/app:v1`, '--plain-http']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('\n')[0]).toContain(`${r2.host}/prod/app:v1@${digest}`);
    expect(res.stdout).toMatch(/├── linux\/amd64 {2}sha256:/);
    expect(res.stdout).toMatch(
      /└── referrer sha256:[a-f0-9]{64} {2}application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json {2}predicate https:\/\/slsa\.dev\/provenance\/v1/,
    );
  });

  it('copies a registry image into a layout and back out unchanged', async () => {
    const res = await runVouch([
      'copy',
      `${r2.host}/prod/app@${digest}`,
      `oci:${dir}/out:kept`,
      '--plain-http',
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const t = await runVouch(['tree', `oci:${dir}/out:kept`, '--json']);
    expect(t.code, t.stderr).toBe(0);
    expect((JSON.parse(t.stdout) as TreeJson).referrers.map((x) => x.digest)).toEqual([referrer]);
  });

  it('shows progress on stderr only when it is a terminal and --json is off', async () => {
    const src = path.join(dir, 'big');
    mklayout(src, 'v1', 3_000_000);
    // `script` gives the CLI a pseudo-terminal, as a user's shell does.
    const inTty = (args: string): string =>
      execFileSync('script', ['-qec', `${NODE} ${path.join(ROOT, 'bin/run.js')} ${args}`, '/dev/null'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${path.dirname(NODE)}:${process.env.PATH ?? ''}` },
      });
    const tty = inTty(`copy oci:${src}:v1 oci:${dir}/tty1`);
    expect(tty).toContain('\r\x1b[Kblobs: ');
    expect(tty).toMatch(/blobs: 4\/4 blobs/);
    const json = inTty(`copy oci:${src}:v1 oci:${dir}/tty2 --json`);
    expect(json).not.toContain('\x1b[K');
    const piped = await runVouch(['copy', `oci:${src}:v1`, `oci:${dir}/piped`]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toContain('\x1b[K');
  });

  it('a bad reference exits 2 with one line and a hint, no stack trace', async () => {
    for (const args of [
      ['copy', 'Not A Ref', `${r2.host}/x/y:v1`],
      ['copy', `${r1.host}/demo/app:v1`, `${r2.host}/UPPER/case`],
      ['tree', `${r1.host}/demo/app@sha256:1234`],
    ]) {
      const res = await runVouch([...args, '--plain-http']);
      expect(res.code, res.stderr).toBe(2);
      const lines = res.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^vouch: invalid reference/);
      expect(lines[1]).toMatch(/^hint: /);
      expect(lines).toHaveLength(2);
      expect(hasStackTrace(res.stderr)).toBe(false);
    }
  });

  it('a destination digest that differs from the source is refused (exit 2)', async () => {
    const res = await runVouch([
      'copy',
      `${r1.host}/demo/app:v1`,
      `${r2.host}/other/app@sha256:${'0'.repeat(64)}`,
      '--plain-http',
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/destination digest/);
  });

  it('an unreachable registry or missing image exits 3', async () => {
    const gone = await runVouch(['tree', '127.0.0.1:1/demo/app:v1', '--plain-http']);
    expect(gone.code).toBe(3);
    expect(hasStackTrace(gone.stderr)).toBe(false);
    const missing = await runVouch([
      'copy',
      `${r1.host}/demo/app:nope`,
      `${r2.host}/x/y`,
      '--plain-http',
      '--json',
    ]);
    expect(missing.code).toBe(3);
    expect((JSON.parse(missing.stdout) as { error: { code: string } }).error.code).toBe('MANIFEST_UNKNOWN');
  });

  it('a source that corrupts a blob makes copy exit 3 and leaves the destination tag as it was', async () => {
    const proxy = await startFaultProxy(r1.host);
    try {
      const idx = JSON.parse(
        execFileSync(
          'skopeo',
          ['inspect', '--raw', '--tls-verify=false', `docker://${r1.host}/demo/app:v1`],
          { encoding: 'utf8' },
        ),
      ) as { manifests: { digest: string }[] };
      const m = JSON.parse(
        execFileSync(
          'skopeo',
          [
            'inspect',
            '--raw',
            '--tls-verify=false',
            `docker://${r1.host}/demo/app@${idx.manifests[0]!.digest}`,
          ],
          { encoding: 'utf8' },
        ),
      ) as { layers: { digest: string }[] };
      proxy.addRule({
        method: 'GET',
        path: new RegExp(`/blobs/${m.layers[0]!.digest}`),
        times: Infinity,
        fault: { kind: 'flip', offset: 7 },
      });
      // Absent before → still absent.
      const res = await runVouch([
        'copy',
        `${proxy.host}/demo/app:v1`,
        `${r2.host}/fault/app:v1`,
        '--plain-http',
      ]);
      expect(res.code, res.stderr).toBe(3);
      expect(res.stderr).toMatch(/does not match/);
      expect(hasStackTrace(res.stderr)).toBe(false);
      const tags = await runVouch(['tree', `${r2.host}/fault/app:v1`, '--plain-http']);
      expect(tags.code).toBe(3);
      // X before → still X.
      const other = mklayout(path.join(dir, 'other'), 'x', 100);
      expect(
        (await runVouch(['copy', `oci:${dir}/other:x`, `${r2.host}/fault/app:v1`, '--plain-http'])).code,
      ).toBe(0);
      const again = await runVouch([
        'copy',
        `${proxy.host}/demo/app:v1`,
        `${r2.host}/fault/app:v1`,
        '--plain-http',
      ]);
      expect(again.code).toBe(3);
      expect(skopeoDigest(`${r2.host}/fault/app:v1`)).toBe(other);
    } finally {
      await proxy.stop();
    }
  });
});
