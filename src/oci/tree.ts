/**
 * What is stored for an image: the manifest or index (with its platform manifests) and every
 * referrer, recursively (a signature on an attestation shows under the attestation).
 */
import { ioFailure } from '../errors.js';
import { openStore } from './open.js';
import { listReferrerManifests } from './referrers.js';
import {
  ANNOTATION,
  type Descriptor,
  type FetchedManifest,
  type ImageIndex,
  type Platform,
  type Reference,
  type RegistryOptions,
  type Store,
} from './types.js';

export const MAX_TREE_NODES = 10_000;

export interface TreeNode {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  platform?: Platform;
  /** The `dev.sigstore.bundle.predicateType` annotation of a Sigstore bundle referrer. */
  predicateType?: string;
  annotations?: Record<string, string>;
  /** Index children (platform manifests). */
  children: TreeNode[];
  /** Manifests whose `subject` is this node. */
  referrers: TreeNode[];
}

export interface TreeOptions {
  /** List referrers (default true). */
  referrers?: boolean;
}

export async function tree(store: Store, reference: string, opts: TreeOptions = {}): Promise<TreeNode> {
  const root = await store.fetchManifest(reference);
  const state = { count: 0, seen: new Set<string>() };
  return build(store, root, undefined, opts.referrers !== false, state);
}

async function build(
  store: Store,
  fetched: FetchedManifest,
  listed: Descriptor | undefined,
  withReferrers: boolean,
  state: { count: number; seen: Set<string> },
): Promise<TreeNode> {
  if (++state.count > MAX_TREE_NODES) {
    throw ioFailure('TOO_MANY_MANIFESTS', `${store.name}: more than ${MAX_TREE_NODES} manifests in the tree`);
  }
  const d = fetched.descriptor;
  const m = fetched.manifest;
  const node: TreeNode = {
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    children: [],
    referrers: [],
  };
  const artifactType = listed?.artifactType ?? d.artifactType ?? m.artifactType;
  if (artifactType) node.artifactType = artifactType;
  const platform = listed?.platform ?? d.platform;
  if (platform) node.platform = platform;
  const annotations = m.annotations ?? listed?.annotations;
  if (annotations && Object.keys(annotations).length > 0) {
    node.annotations = annotations;
    const pt = annotations[ANNOTATION.bundlePredicateType];
    if (pt) node.predicateType = pt;
  }
  // A digest already shown (a cycle, or a manifest shared by two parents) is not expanded again.
  if (state.seen.has(d.digest)) return node;
  state.seen.add(d.digest);

  const index = m as ImageIndex;
  if (Array.isArray(index.manifests)) {
    for (const child of index.manifests) {
      node.children.push(await build(store, await store.fetchManifest(child), child, withReferrers, state));
    }
  }
  if (withReferrers) {
    for (const r of await listReferrerManifests(store, d.digest)) {
      node.referrers.push(await build(store, r.fetched, r.descriptor, withReferrers, state));
    }
  }
  return node;
}

/** tree() of the image a reference names (tag, else digest, else `latest`). */
export async function treeOf(
  ref: Reference,
  opts: TreeOptions & { registry?: RegistryOptions } = {},
): Promise<TreeNode> {
  const store = await openStore(ref, opts.registry);
  try {
    return await tree(store, ref.digest ?? ref.tag ?? 'latest', opts);
  } finally {
    (store as { close?: () => void }).close?.();
  }
}
