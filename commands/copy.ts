import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../cli/base.js';
import { registryFlags, registryOptions } from '../cli/flags/registry.js';
import { copyImage, parseReference, type CopyImageResult, type CopyProgress } from '../src/oci/index.js';

export default class Copy extends VouchCommand {
  static override summary = 'Copy an image or index with all its platforms and referrers, digests unchanged.';
  static override description = `Copies SRC to DST between any two registries, repositories or OCI image layouts (oci:PATH). Everything is copied byte for byte: the manifest or index, every platform manifest, every blob, and every referrer (signatures, attestations, SBOMs), recursively, so every digest is identical at the destination.

The source is resolved to a digest once. The destination tag (DST's tag, else SRC's tag, else none) is written last, after everything else is in place: a failure leaves it as it was, and running the command again completes the copy (blobs already present are skipped; blobs on the same registry are mounted).`;
  static override examples = [
    '<%= config.bin %> copy ghcr.io/acme/app:1.4.0 registry.example.com/mirror/app',
    '<%= config.bin %> copy oci:./build/layout:v1 127.0.0.1:5000/demo/app:v1 --plain-http',
    '<%= config.bin %> copy 127.0.0.1:5000/demo/app@sha256:0123… oci:./backup --plain-http --json',
  ];
  static override args = {
    src: Args.string({
      description: 'Source: REGISTRY/REPO[:TAG|@DIGEST] or oci:PATH[:TAG|@DIGEST].',
      required: true,
    }),
    dst: Args.string({ description: 'Destination: REGISTRY/REPO[:TAG] or oci:PATH[:TAG].', required: true }),
  };
  static override flags = {
    referrers: Flags.boolean({
      description: 'Copy referrers (signatures, attestations) recursively.',
      default: true,
      allowNo: true,
    }),
    concurrency: Flags.integer({
      description: 'Blobs transferred in parallel.',
      default: 4,
      min: 1,
      max: 32,
    }),
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Copy);
    const src = parseReference(args.src);
    const dst = parseReference(args.dst);
    const registry = await registryOptions(flags);
    const progress = !this.json && process.stderr.isTTY ? progressLine() : undefined;
    let result: CopyImageResult;
    try {
      result = await copyImage(src, dst, {
        registry,
        referrers: flags.referrers,
        concurrency: flags.concurrency,
        ...(progress ? { onProgress: progress.update } : {}),
      });
    } finally {
      progress?.clear();
    }
    this.note(
      `copied ${result.from} → ${result.to}: ${result.manifests} manifest(s), ${result.referrers} referrer(s), ` +
        `blobs ${result.blobs.copied} copied (${formatBytes(result.blobs.bytes)}), ${result.blobs.mounted} mounted, ${result.blobs.skipped} skipped`,
    );
    this.render(result, (r) =>
      [
        `source:      ${r.from}`,
        `destination: ${r.to}`,
        `digest:      ${r.destination.digest}`,
        `manifests:   ${r.manifests}`,
        `referrers:   ${r.referrers}`,
        `blobs:       ${r.blobs.copied} copied, ${r.blobs.mounted} mounted, ${r.blobs.skipped} skipped (${formatBytes(r.blobs.bytes)} transferred)`,
      ].join('\n'),
    );
  }
}

/** One self-overwriting stderr line, refreshed at most 5 times a second. */
function progressLine(): { update: (p: CopyProgress) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  const started = Date.now();
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 200 && p.phase === 'blobs' && p.blobsDone < p.blobsTotal) return;
      last = now;
      const rate = p.bytes / Math.max(0.001, (now - started) / 1000);
      process.stderr.write(
        `\r\x1b[K${p.phase}: ${p.blobsDone}/${p.blobsTotal} blobs, ${formatBytes(p.bytes)} (${formatBytes(rate)}/s)`,
      );
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
