/**
 * What a promotion would copy: the source graph (manifest or index, every child, every blob,
 * every referrer recursively) walked by digest from the resolved source, with counts and bytes,
 * and — when a destination is given — how much of it is already there. Reads only; used by
 * `--dry-run` and for the human summary.
 */
import { ioFailure } from '../errors.js';
import {
  listReferrers,
  MediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Store,
} from '../oci/index.js';

/** Bounds a hostile source: a graph larger than this is refused, not walked forever. */
const MAX_NODES = 10_000;

export interface PlanCounts {
  /** Image manifests and indexes of the artifact itself (root and platform children). */
  manifests: number;
  /** Referrer manifests (signatures, attestations, …), recursively. */
  referrers: number;
  /** Distinct blobs (configs and layers, the artifact's and its referrers'). */
  blobs: number;
  /** Bytes of those blobs plus every manifest. */
  bytes: number;
}

export interface PromotionPlan extends PlanCounts {
  root: Descriptor;
  /** Platform children of an index (digest and platform), empty for a single manifest. */
  platforms: { digest: string; platform?: string }[];
  /** Referrers found, with what they carry (for the summary). */
  referrerList: { digest: string; subject: string; artifactType?: string; predicateType?: string }[];
  /** Present when a destination store was checked: what it already holds. */
  destination?: { present: PlanCounts; missing: PlanCounts };
}

interface Node {
  desc: Descriptor;
  kind: 'artifact' | 'referrer';
}

/** Walks the source graph from `root`; with `dst`, also asks which parts it already holds. */
export async function planPromotion(src: Store, root: Descriptor, dst?: Store): Promise<PromotionPlan> {
  const manifests = new Map<string, Node>();
  const blobs = new Map<string, Descriptor>();
  const platforms: PromotionPlan['platforms'] = [];
  const referrerList: PromotionPlan['referrerList'] = [];

  const visit = async (desc: Descriptor, kind: Node['kind']): Promise<void> => {
    if (manifests.has(desc.digest)) return;
    if (manifests.size + blobs.size >= MAX_NODES) {
      throw ioFailure(
        'GRAPH_TOO_LARGE',
        `${src.name}@${root.digest} has more than ${MAX_NODES} manifests and blobs`,
        'this is not a promotable artifact; check the source',
      );
    }
    const fetched = await src.fetchManifest(desc);
    const size = fetched.bytes.length;
    manifests.set(desc.digest, { desc: { ...desc, size }, kind });
    const m = fetched.manifest;
    if (isIndex(m, fetched.descriptor.mediaType)) {
      for (const child of m.manifests) {
        if (kind === 'artifact' && desc.digest === root.digest) {
          platforms.push({ digest: child.digest, platform: formatPlatform(child) });
        }
        await visit(child, kind);
      }
    } else {
      const im = m as ImageManifest;
      for (const b of [im.config, ...(im.layers ?? [])]) {
        if (b && !blobs.has(b.digest)) blobs.set(b.digest, b);
      }
    }
    for (const r of await listReferrers(src, {
      mediaType: fetched.descriptor.mediaType,
      digest: desc.digest,
      size,
    })) {
      if (!manifests.has(r.digest)) {
        referrerList.push({
          digest: r.digest,
          subject: desc.digest,
          artifactType: r.artifactType,
          predicateType: r.annotations?.['dev.sigstore.bundle.predicateType'],
        });
      }
      await visit(r, 'referrer');
    }
  };
  await visit(root, 'artifact');

  const all = [...manifests.values()];
  const total = countOf(all, [...blobs.values()]);
  let destination: PromotionPlan['destination'];
  if (dst) {
    const presentManifests: Node[] = [];
    const missingManifests: Node[] = [];
    for (const n of all)
      ((await dst.hasManifest(n.desc.digest)) ? presentManifests : missingManifests).push(n);
    const presentBlobs: Descriptor[] = [];
    const missingBlobs: Descriptor[] = [];
    for (const b of blobs.values()) ((await dst.hasBlob(b.digest)) ? presentBlobs : missingBlobs).push(b);
    destination = {
      present: countOf(presentManifests, presentBlobs),
      missing: countOf(missingManifests, missingBlobs),
    };
  }
  return { root, ...total, platforms, referrerList, ...(destination ? { destination } : {}) };
}

function countOf(nodes: Node[], blobs: Descriptor[]): PlanCounts {
  let bytes = 0;
  for (const n of nodes) bytes += n.desc.size;
  for (const b of blobs) bytes += b.size;
  return {
    manifests: nodes.filter((n) => n.kind === 'artifact').length,
    referrers: nodes.filter((n) => n.kind === 'referrer').length,
    blobs: blobs.length,
    bytes,
  };
}

function isIndex(m: ImageManifest | ImageIndex, mediaType: string): m is ImageIndex {
  return (
    mediaType === MediaType.ociIndex ||
    mediaType === MediaType.dockerManifestList ||
    Array.isArray((m as ImageIndex).manifests)
  );
}

function formatPlatform(d: Descriptor): string | undefined {
  const p = d.platform;
  if (!p) return undefined;
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
