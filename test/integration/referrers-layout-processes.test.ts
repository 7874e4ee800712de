/**
 * Several vouch processes attaching referrers to one image in one OCI layout at the same time:
 * the index.json lock file and the fallback-index read-back must keep every entry.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listReferrers, openLayout, type Descriptor } from '../../src/oci/index.js';
import { NODE, ROOT } from '../support/cli.js';
import { pushPlatformImage } from '../support/images.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-refs-procs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function attachInChild(layout: string, subject: Descriptor, name: string): Promise<string> {
  const lib = path.join(ROOT, 'dist/src/oci/index.js');
  const script = `
    const { openLayout, attachArtifact } = await import(${JSON.stringify(lib)});
    const d = await attachArtifact(openLayout(process.argv[1]), JSON.parse(process.argv[2]), {
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', data: Buffer.from(process.argv[3]) }],
    });
    process.stdout.write(d.digest);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--input-type=module', '-e', script, layout, JSON.stringify(subject), name], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`child ${name} exited ${code}: ${err}`)),
    );
  });
}

describe('referrers in a layout shared by several processes', () => {
  it('16 processes attaching to one image end with 16 listed and no lock or temp file left', async () => {
    expect(existsSync(path.join(ROOT, 'dist/src/oci/index.js')), 'run `npm run build` first').toBe(true);
    const layout = path.join(dir, 'lay');
    const img = await pushPlatformImage(openLayout(layout), 'amd64', 1000, 'v1');
    const written = await Promise.all(
      Array.from({ length: 16 }, (_, i) => attachInChild(layout, img.manifest, `c${i}`)),
    );
    const listed = await listReferrers(openLayout(layout), img.manifest);
    expect(new Set(listed.map((d) => d.digest))).toEqual(new Set(written));
    expect(listed).toHaveLength(16);
    const leftovers = (await readdir(layout)).filter((f) => f.endsWith('.lock') || f.startsWith('.tmp'));
    expect(leftovers).toEqual([]);
    expect((await openLayout(layout).resolve('v1')).digest).toBe(img.manifest.digest);
  });
});
