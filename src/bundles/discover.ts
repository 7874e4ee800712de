/**
 * Finding the Sigstore bundles attached to an image: referrers whose artifactType is a Sigstore
 * bundle (cosign v3 / GitHub attest layout), each holding the bundle JSON in one layer. The
 * registry is untrusted: manifests and blobs are re-hashed by the store, sizes are capped, and a
 * referrer that cannot be read is returned with its error (reported, never skipped).
 */
import { listReferrerManifests, type Descriptor, type ImageManifest, type Store } from '../oci/index.js';

export const SIGSTORE_BUNDLE_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
/** The largest bundle read from a registry. */
export const MAX_DISCOVERED_BUNDLE_BYTES = 10 * 1024 * 1024;

export interface DiscoveredBundle {
  /** The referrer manifest's descriptor. */
  referrer: Descriptor;
  /** Parsed bundle JSON, when it could be read and parsed. */
  bundle?: unknown;
  /** The bundle's exact bytes. */
  bytes?: Buffer;
  error?: string;
}

export function isBundleType(t: string | undefined): boolean {
  return typeof t === 'string' && t.startsWith(SIGSTORE_BUNDLE_TYPE_PREFIX);
}

export async function discoverBundles(store: Store, subject: Descriptor): Promise<DiscoveredBundle[]> {
  const referrers = await listReferrerManifests(store, subject);
  const out: DiscoveredBundle[] = [];
  await Promise.all(
    referrers.map(async (r, i) => {
      const manifest = r.fetched.manifest as Partial<ImageManifest>;
      const type =
        manifest.artifactType ??
        r.descriptor.artifactType ??
        (manifest.config as Descriptor | undefined)?.mediaType;
      if (!isBundleType(type)) return;
      out[i] = await readBundle(store, r.descriptor, manifest);
    }),
  );
  return out.filter((b): b is DiscoveredBundle => b !== undefined);
}

async function readBundle(
  store: Store,
  referrer: Descriptor,
  manifest: Partial<ImageManifest>,
): Promise<DiscoveredBundle> {
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  const layer = layers.find((l) => isBundleType(l?.mediaType));
  if (!layer) return { referrer, error: `referrer ${referrer.digest} has no Sigstore bundle layer` };
  if (typeof layer.size !== 'number' || layer.size > MAX_DISCOVERED_BUNDLE_BYTES) {
    return {
      referrer,
      error: `bundle layer of ${referrer.digest} is ${layer.size} bytes (limit ${MAX_DISCOVERED_BUNDLE_BYTES})`,
    };
  }
  let bytes: Buffer;
  try {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of await store.fetchBlob(layer)) {
      n += (c as Buffer).length;
      if (n > MAX_DISCOVERED_BUNDLE_BYTES)
        throw new Error(`bundle exceeds ${MAX_DISCOVERED_BUNDLE_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
    bytes = Buffer.concat(chunks);
  } catch (e) {
    return { referrer, error: `cannot read bundle of ${referrer.digest}: ${(e as Error).message}` };
  }
  try {
    return { referrer, bundle: JSON.parse(bytes.toString('utf8')), bytes };
  } catch (e) {
    return {
      referrer,
      bytes,
      error: `bundle of ${referrer.digest} is not valid JSON: ${(e as Error).message}`,
    };
  }
}
