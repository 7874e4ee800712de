import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../cli/base.js';
import { registryFlags, registryOptions } from '../cli/flags/registry.js';
import { formatReference, parseReference, treeOf, type TreeNode } from '../src/oci/index.js';

export default class Tree extends VouchCommand {
  static override summary = 'Show an image or index, its platforms and every referrer, recursively.';
  static override description = `Lists what the registry (or OCI layout) holds for an image: the manifest or index with its platform manifests, and every referrer (Sigstore bundles, attestations, SBOMs, signatures on those), with digest, media type, artifact type, size and the bundle's predicate type.

Referrers come from the referrers API, or from the referrers tag schema (sha256-<hex>) when the registry has none; an entry whose manifest names another subject is not shown.`;
  static override examples = [
    '<%= config.bin %> tree ghcr.io/acme/app:1.4.0',
    '<%= config.bin %> tree 127.0.0.1:5000/demo/app:v1 --plain-http --json',
    '<%= config.bin %> tree oci:./build/layout:v1',
  ];
  static override args = {
    ref: Args.string({
      description: 'Image: REGISTRY/REPO[:TAG|@DIGEST] or oci:PATH[:TAG|@DIGEST].',
      required: true,
    }),
  };
  static override flags = {
    referrers: Flags.boolean({ description: 'List referrers.', default: true, allowNo: true }),
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Tree);
    const ref = parseReference(args.ref);
    const registry = await registryOptions(flags);
    const node = await treeOf(ref, { registry, referrers: flags.referrers });
    this.render(node, (n) => renderTree(formatReference({ ...ref, digest: undefined }), n));
    this.note(`${count(node.children)} platform manifest(s), ${count(node.referrers, true)} referrer(s)`);
  }
}

function count(nodes: TreeNode[], referrers = false): number {
  return nodes.reduce((n, c) => n + 1 + (referrers ? count(c.referrers, true) : 0), 0);
}

function describe(n: TreeNode): string {
  const parts = [n.digest];
  if (n.platform) {
    parts.unshift(
      [n.platform.os, n.platform.architecture, n.platform.variant].filter((p) => p !== undefined).join('/'),
    );
  }
  parts.push(n.artifactType ?? n.mediaType);
  if (n.predicateType) parts.push(`predicate ${n.predicateType}`);
  parts.push(`${n.size} B`);
  return parts.join('  ');
}

function renderTree(title: string, root: TreeNode): string {
  const lines = [`${title}@${root.digest}  ${root.mediaType}  ${root.size} B`];
  const walk = (node: TreeNode, prefix: string): void => {
    const items = [
      ...node.children.map((c) => ({ n: c, label: '' })),
      ...node.referrers.map((r) => ({ n: r, label: 'referrer ' })),
    ];
    items.forEach(({ n, label }, i) => {
      const last = i === items.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${label}${describe(n)}`);
      walk(n, prefix + (last ? '    ' : '│   '));
    });
  };
  walk(root, '');
  return lines.join('\n');
}
