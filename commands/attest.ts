import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../cli/base.js';
import { registryFlags, registryOptions } from '../cli/flags/registry.js';
import { signerSpec, signingFlags } from '../cli/flags/signing.js';
import {
  attestFile,
  attestationBundlePath,
  readPredicate,
  subjectKind,
  writeBundleFile,
} from '../src/signing/index.js';

export default class Attest extends VouchCommand {
  static override summary = 'Sign an in-toto attestation about an image or a file.';
  static override description = `Wraps the predicate (a JSON object from --predicate) in an in-toto Statement v1 of type --type whose subject is SUBJECT's digest, signs it as a DSSE Sigstore bundle v0.3, and stores it next to the subject:

- an existing file path is a file subject (subject name = file name, sha256 streamed); the bundle is written to FILE.<predicate>.sigstore.json, where <predicate> is the last non-version path segment of the predicate type (https://slsa.dev/provenance/v1 → FILE.provenance.sigstore.json; https://in-toto.io/attestation/vulns/v0.2 → FILE.vulns.sigstore.json), or to --bundle-out;
- anything else is an image reference (HOST/REPO[:TAG|@DIGEST], or oci:PATH for an OCI image layout), resolved to a digest once; the bundle is attached as a referrer (annotation dev.sigstore.bundle.predicateType = --type) and also written to --bundle-out when given.`;
  static override examples = [
    '<%= config.bin %> attest ghcr.io/acme/app:1.4.0 --predicate scan.json --type https://in-toto.io/attestation/vulns/v0.2 --key vouch.key',
    '<%= config.bin %> attest build/fn.zip --predicate provenance.json --type https://slsa.dev/provenance/v1',
    '<%= config.bin %> attest oci:./layout:v1 --predicate test.json --type https://in-toto.io/attestation/test-result/v0.1 --key vouch.key --json',
  ];
  static override args = {
    subject: Args.string({
      description: 'A file path, or an image: HOST/REPO[:TAG|@DIGEST] or oci:PATH[:TAG|@DIGEST].',
      required: true,
    }),
  };
  static override flags = {
    predicate: Flags.string({
      description: 'JSON file holding the predicate (a JSON object).',
      required: true,
      helpValue: 'FILE',
    }),
    type: Flags.string({
      description: 'Predicate type URI, e.g. https://slsa.dev/provenance/v1.',
      required: true,
      helpValue: 'URI',
    }),
    'bundle-out': Flags.string({
      description: 'Write the bundle to this file (files: instead of the default name).',
      helpValue: 'FILE',
    }),
    ...signingFlags,
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attest);
    const predicate = await readPredicate(flags.predicate, flags.type);
    const spec = await signerSpec(flags);
    // Loaded here, not at module level: `vouch --help` imports every command.
    const { attestImage } = await import('../src/bundles/index.js');
    if ((await subjectKind(args.subject)) === 'file') {
      const res = await attestFile(args.subject, flags.type, predicate, spec);
      const bundlePath = await writeBundleFile(
        flags['bundle-out'] ?? attestationBundlePath(args.subject, flags.type),
        res.bundleBytes,
      );
      this.note(`attested ${args.subject} (sha256:${res.sha256}) with ${flags.type} as ${res.signer}`);
      this.render(
        {
          subject: { file: args.subject, sha256: res.sha256 },
          predicateType: flags.type,
          signer: res.signer,
          ...(res.issuer ? { issuer: res.issuer } : {}),
          ...(res.tlogIndex === undefined ? {} : { tlogIndex: res.tlogIndex }),
          bundle: { digest: res.digest, path: bundlePath },
        },
        (d) => `${d.bundle.digest} ${d.bundle.path}`,
      );
      return;
    }
    const registry = await registryOptions(flags);
    const res = await attestImage(args.subject, flags.type, predicate, spec, {
      registry,
      onResolved: (tag, digest) => {
        if (tag) this.note(`resolved ${tag} to ${digest}`);
      },
    });
    const sig = res.signatures[0]!;
    const bundlePath = flags['bundle-out']
      ? await writeBundleFile(flags['bundle-out'], sig.result.bundleBytes)
      : undefined;
    this.note(`attested ${res.pinned} with ${flags.type} as ${sig.result.signer}`);
    this.render(
      {
        subject: { reference: res.pinned, digest: res.subject.digest, ...(res.tag ? { tag: res.tag } : {}) },
        predicateType: flags.type,
        signer: sig.result.signer,
        ...(sig.result.issuer ? { issuer: sig.result.issuer } : {}),
        ...(sig.result.tlogIndex === undefined ? {} : { tlogIndex: sig.result.tlogIndex }),
        bundle: {
          digest: sig.result.digest,
          referrer: sig.referrer.digest,
          ...(bundlePath ? { path: bundlePath } : {}),
        },
      },
      (d) => `${d.bundle.digest} ${res.repository}@${d.bundle.referrer}`,
    );
  }
}
