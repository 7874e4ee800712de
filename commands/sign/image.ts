import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { registryFlags, registryOptions } from '../../cli/flags/registry.js';
import { signerSpec, signingFlags } from '../../cli/flags/signing.js';
import { writeBundleFile } from '../../src/signing/index.js';

export default class SignImage extends VouchCommand {
  static override summary = 'Sign a container image and attach the signature as an OCI referrer.';
  static override description = `Resolves REF to a digest once, signs an in-toto Statement v1 over it (predicate type https://sigstore.dev/cosign/sign/v1, subject = repository + digest: cosign v3's image signature) as a Sigstore bundle v0.3 (DSSE), and attaches the bundle to the image as a referrer (artifactType application/vnd.dev.sigstore.bundle.v0.3+json), the layout cosign and GitHub's attest action read.

REF is a registry reference (HOST/REPO:TAG or @DIGEST) or an OCI image layout (oci:PATH[:TAG|@DIGEST]). With --recursive, an index and each manifest it lists are signed. Everything is signed before anything is attached: a signing failure leaves the registry unchanged.`;
  static override examples = [
    '<%= config.bin %> sign image ghcr.io/acme/app:1.4.0 --key vouch.key',
    'SIGSTORE_ID_TOKEN=… <%= config.bin %> sign image ghcr.io/acme/app@sha256:… --recursive',
    '<%= config.bin %> sign image 127.0.0.1:5000/demo/app:v1 --key vouch.key --plain-http --bundle-out app.sigstore.json',
    '<%= config.bin %> sign image oci:./layout:v1 --key vouch.key --json',
  ];
  static override args = {
    ref: Args.string({
      description: 'Image: HOST/REPO[:TAG|@DIGEST] or oci:PATH[:TAG|@DIGEST].',
      required: true,
    }),
  };
  static override flags = {
    recursive: Flags.boolean({ description: 'Also sign each manifest listed by an index.', default: false }),
    'bundle-out': Flags.string({
      description: 'Also write the (top-level) bundle to this file.',
      helpValue: 'FILE',
    }),
    ...signingFlags,
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SignImage);
    const spec = await signerSpec(flags);
    // Loaded here, not at module level: `vouch --help` imports every command.
    const { signImage } = await import('../../src/bundles/index.js');
    const registry = await registryOptions(flags);
    const res = await signImage(args.ref, spec, {
      registry,
      recursive: flags.recursive,
      onResolved: (tag, digest) => {
        if (tag) this.note(`resolved ${tag} to ${digest}`);
      },
    });
    const top = res.signatures[0]!;
    const bundlePath = flags['bundle-out']
      ? await writeBundleFile(flags['bundle-out'], top.result.bundleBytes)
      : undefined;
    this.note(
      `signed ${res.pinned} as ${top.result.signer}` +
        (res.signatures.length > 1 ? ` (+${res.signatures.length - 1} manifests)` : '') +
        (top.result.tlogIndex === undefined ? '' : `, tlog index ${top.result.tlogIndex}`),
    );
    this.render(
      {
        reference: res.pinned,
        digest: res.subject.digest,
        ...(res.tag ? { tag: res.tag } : {}),
        signer: top.result.signer,
        ...(top.result.issuer ? { issuer: top.result.issuer } : {}),
        ...(bundlePath ? { bundlePath } : {}),
        signatures: res.signatures.map((s) => ({
          subject: s.subject.digest,
          ...(s.subject.platform ? { platform: s.subject.platform } : {}),
          bundle: s.result.digest,
          referrer: s.referrer.digest,
          ...(s.result.tlogIndex === undefined ? {} : { tlogIndex: s.result.tlogIndex }),
        })),
      },
      (d) => d.signatures.map((s) => `${s.bundle} ${res.repository}@${s.referrer} → ${s.subject}`).join('\n'),
    );
  }
}
