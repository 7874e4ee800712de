#!/usr/bin/env node
// The main job on the embedded default — no server, OCI image layouts in a temp dir:
// make an image, sign it, attach SLSA provenance from a trusted builder, write a policy,
// promote staging → prod (a VSA is attached), then show a refusal (provenance from an
// untrusted builder) and the promoted tree. Runs the real CLI (bin/run.js) as subprocesses,
// prints each command before running it, and exits 0 only when every step behaved as expected
// (the refusal is expected: exit 1 and no prod tag).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLayoutImage } from './mklayout.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'run.js');
const WORK = mkdtempSync(join(tmpdir(), 'vouch-demo-'));
const keep = process.env.VOUCH_DEMO_KEEP === '1';
const TRUSTED = 'https://builder.example/hosted@v1';
const UNTRUSTED = 'https://untrusted.example/laptop@v1';
const t0 = Date.now();

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const failures = [];

function title(s) {
  process.stdout.write(`\n${bold(`== ${s}`)}\n`);
}

/** Runs `vouch ARGS` in the work dir, echoing the command and its output; checks the exit code. */
function vouch(args, { expect = 0, show = true } = {}) {
  process.stdout.write(`$ vouch ${args.join(' ')}\n`);
  // stdout and stderr share one file so the output reads in the order it was written.
  const outFile = join(WORK, '.out');
  const fd = openSync(outFile, 'w');
  let r;
  try {
    r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: WORK,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, VOUCH_OFFLINE: '1' },
      timeout: 60_000,
    });
  } finally {
    closeSync(fd);
  }
  const text = readFileSync(outFile, 'utf8').trimEnd();
  if (show && text) process.stdout.write(text.replace(/^/gm, '    ') + '\n');
  const code = r.status ?? -1;
  if (code !== expect) {
    failures.push(`vouch ${args[0]} ${args[1] ?? ''}: exit ${code}, expected ${expect}`);
    process.stdout.write(`    !! exit ${code}, expected ${expect}\n`);
  } else if (expect !== 0) {
    process.stdout.write(`    (exit ${code}, as expected)\n`);
  }
  return { code, text };
}

/** The VSA statement attached to `digest` in a layout (read straight from the files). */
function vsaIn(dir, digest) {
  const blob = (d) => readFileSync(join(WORK, dir, 'blobs', 'sha256', d.replace('sha256:', '')));
  const index = JSON.parse(readFileSync(join(WORK, dir, 'index.json'), 'utf8'));
  const fallback = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === digest.replace(':', '-'),
  );
  if (!fallback) return undefined;
  for (const r of JSON.parse(blob(fallback.digest)).manifests) {
    if (r.annotations?.['dev.sigstore.bundle.predicateType'] !== 'https://slsa.dev/verification_summary/v1')
      continue;
    const bundle = JSON.parse(blob(JSON.parse(blob(r.digest)).layers[0].digest));
    return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  }
  return undefined;
}

/** Writes a 2-platform image index into an OCI layout, tagged TAG. */
function makeImage(dir, tag, layerBytes = 64 * 1024) {
  return writeLayoutImage(dir, tag, { layerBytes });
}

function layoutTag(dir, tag) {
  const p = join(WORK, dir, 'index.json');
  if (!existsSync(p)) return undefined;
  const m = JSON.parse(readFileSync(p, 'utf8')).manifests.find(
    (d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  return m?.digest;
}

try {
  if (!existsSync(join(ROOT, 'dist', 'commands'))) {
    throw new Error('dist/ is missing: run `npm run demo` (it builds first) or `npm run build`');
  }
  process.stdout.write(`vouch demo — everything happens in ${WORK} (OCI image layouts, no server)\n`);

  title('1. build an image: a two-platform index in the layout oci:staging, tag v1');
  const d1 = makeImage(join(WORK, 'staging'), 'v1');
  process.stdout.write(`    staging:v1 = ${d1} (linux/amd64 + linux/arm64)\n`);

  title('2. a signing key (unencrypted for the demo; encrypted by default)');
  vouch(['keys', 'generate', '--out-dir', 'keys', '--no-password']);

  title('3. sign the image and attach SLSA provenance from the hosted builder');
  vouch(['sign', 'image', 'oci:staging:v1', '--key', 'keys/vouch.key']);
  vouch([
    'provenance',
    'oci:staging:v1',
    '--builder-id',
    TRUSTED,
    '--sign',
    '--push',
    '--key',
    'keys/vouch.key',
    '--out',
    'provenance-v1.sigstore.json',
  ]);

  title('4. a policy: trust that key, the hosted builder at SLSA Build L3; promote only staging → prod');
  vouch([
    'policy',
    'init',
    '--key',
    'keys/vouch.pub',
    '--builder-id',
    TRUSTED,
    '--builder-level',
    '3',
    '--min-slsa-level',
    '3',
    '--promote-from',
    'oci:staging',
    '--promote-to',
    'oci:prod',
    '--out',
    'policy.yaml',
  ]);
  process.stdout.write(
    readFileSync(join(WORK, 'policy.yaml'), 'utf8').replace(/^/gm, '    | ').trimEnd() + '\n',
  );

  title('5. promote staging:v1 → prod:v1 (verify, copy, re-verify, sign a VSA, then tag)');
  vouch([
    'promote',
    'oci:staging:v1',
    'oci:prod:v1',
    '--policy',
    'policy.yaml',
    '--key',
    'keys/vouch.key',
    '--decision-log',
    'decisions.jsonl',
  ]);
  if (layoutTag('prod', 'v1') !== d1)
    failures.push(`prod:v1 should be ${d1}, is ${layoutTag('prod', 'v1') ?? 'absent'}`);
  const vsa = vsaIn('prod', d1);
  if (!vsa) failures.push('no VSA attached to prod:v1');
  else {
    process.stdout.write('    the Verification Summary Attestation attached to prod:v1:\n');
    process.stdout.write(JSON.stringify(vsa, null, 2).replace(/^/gm, '    | ') + '\n');
  }

  title('6. a second image whose provenance comes from an untrusted builder is refused');
  const d2 = makeImage(join(WORK, 'staging'), 'v2');
  process.stdout.write(`    staging:v2 = ${d2}\n`);
  vouch(['sign', 'image', 'oci:staging:v2', '--key', 'keys/vouch.key']);
  vouch([
    'provenance',
    'oci:staging:v2',
    '--builder-id',
    UNTRUSTED,
    '--sign',
    '--push',
    '--key',
    'keys/vouch.key',
    '--out',
    'provenance-v2.sigstore.json',
  ]);
  vouch(
    [
      'promote',
      'oci:staging:v2',
      'oci:prod:v2',
      '--policy',
      'policy.yaml',
      '--key',
      'keys/vouch.key',
      '--decision-log',
      'decisions.jsonl',
    ],
    { expect: 1 },
  );
  if (layoutTag('prod', 'v2') !== undefined) failures.push('the refused promotion wrote prod:v2');
  else process.stdout.write('    prod:v2 was not written\n');

  title('7. what prod holds: the image, its signature, provenance and the VSA');
  vouch(['tree', 'oci:prod:v1']);
  vouch(['verify', 'image', 'oci:prod:v1', '--policy', 'policy.yaml']);

  title('8. the decision log');
  const log = existsSync(join(WORK, 'decisions.jsonl'))
    ? readFileSync(join(WORK, 'decisions.jsonl'), 'utf8').trim().split('\n')
    : [];
  for (const line of log) {
    const r = JSON.parse(line);
    process.stdout.write(`    ${r.result}  ${r.resource}  ${r.reason}\n`);
  }
  if (
    !log.some((l) => JSON.parse(l).result === 'ALLOW') ||
    !log.some((l) => JSON.parse(l).result === 'DENY')
  ) {
    failures.push('the decision log should hold one ALLOW and one DENY record');
  }
} catch (err) {
  failures.push(err instanceof Error ? err.message : String(err));
} finally {
  if (!keep) rmSync(WORK, { recursive: true, force: true });
}

const secs = ((Date.now() - t0) / 1000).toFixed(1);
if (failures.length) {
  process.stdout.write(`\ndemo FAILED after ${secs}s:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(
  `\ndemo OK in ${secs}s: staging:v1 promoted to prod:v1 with a VSA; staging:v2 refused (untrusted builder), prod:v2 never written\n`,
);
