#!/usr/bin/env node
// mklayout DIR TAG [LAYER_BYTES] [--single]
// Writes (or adds to) an OCI image layout: a two-platform index (linux/amd64, linux/arm64),
// or one manifest with --single, tagged TAG, and prints its digest. Layers are random bytes
// with the uncompressed tar media type (a registry does not look inside). Used as a fixture
// by the README walkthrough, the tests and bench/.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Writes (or adds to) the OCI layout at `dir` an image tagged `tag` and returns its digest:
 * a two-platform index, or with `single` one manifest; each layer is `layerBytes` random bytes.
 */
export function writeLayoutImage(dir, tag, { layerBytes = 4096, single = false } = {}) {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const put = (buf) => {
    const hex = createHash('sha256').update(buf).digest('hex');
    writeFileSync(join(blobs, hex), buf);
    return { digest: `sha256:${hex}`, size: buf.length };
  };

  const manifest = (arch) => {
    const layer = put(randomBytes(layerBytes));
    const config = put(
      Buffer.from(
        JSON.stringify({
          architecture: arch,
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      ),
    );
    const m = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    };
    return {
      mediaType: m.mediaType,
      ...put(Buffer.from(JSON.stringify(m))),
      platform: { architecture: arch, os: 'linux' },
    };
  };

  let top;
  if (single) {
    const { platform: _platform, ...d } = manifest('amd64');
    top = d;
  } else {
    const idx = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [manifest('amd64'), manifest('arm64')],
    };
    top = { mediaType: idx.mediaType, ...put(Buffer.from(JSON.stringify(idx))) };
  }
  const indexPath = join(dir, 'index.json');
  const index = existsSync(indexPath)
    ? JSON.parse(readFileSync(indexPath, 'utf8'))
    : { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  index.manifests = index.manifests.filter(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag,
  );
  index.manifests.push({ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } });
  writeFileSync(indexPath, JSON.stringify(index));
  return top.digest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir, tag, sizeArg, ...rest] = process.argv.slice(2);
  if (!dir || !tag) {
    console.error('usage: mklayout DIR TAG [LAYER_BYTES] [--single]');
    process.exit(2);
  }
  const layerBytes = Number(sizeArg ?? 4096);
  if (!Number.isInteger(layerBytes) || layerBytes < 0) {
    console.error(`mklayout: LAYER_BYTES must be a non-negative integer, got ${sizeArg}`);
    process.exit(2);
  }
  console.log(writeLayoutImage(dir, tag, { layerBytes, single: rest.includes('--single') }));
}
