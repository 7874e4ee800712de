import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { registryFlags, registryOptions } from '../../cli/flags/registry.js';
import { signerSpec, signingFlags } from '../../cli/flags/signing.js';
import { signFile, writeBundleFile } from '../../src/signing/index.js';

export default class SignFunction extends VouchCommand {
  static override summary = 'Sign a function package (zip, jar, tarball) with a Sigstore message signature.';
  static override description = `Hashes FILE once as a stream (memory stays flat whatever its size), signs its sha256 and writes a Sigstore bundle v0.3 (message signature) to FILE.sigstore.json, or --bundle-out.

With --push REF the package is also pushed as an OCI artifact (artifactType application/vnd.vouch.function.v1, one layer with the package's media type and its file name as title) and the bundle is attached to it as a referrer. The bundle file is written last, after the push succeeded; if signing fails nothing is written.

Signing: --key FILE (optionally --certificate for an organisation CA, --tlog-upload for Rekor) or keyless with an OIDC token. Ed25519 keys are refused here (Sigstore verifiers check message signatures over a SHA-256 digest, which Ed25519 cannot sign); use ECDSA, or vouch attest for a DSSE attestation.`;
  static override examples = [
    '<%= config.bin %> sign function build/fn.zip --key vouch.key --key-password-file pw.txt',
    'SIGSTORE_ID_TOKEN=… <%= config.bin %> sign function build/fn.zip',
    '<%= config.bin %> sign function app.jar --key vouch.key --push registry.example.com/functions/app:1.2.0',
    '<%= config.bin %> sign function fn.tgz --key vouch.key --bundle-out dist/fn.bundle.json --json',
  ];
  static override args = {
    file: Args.string({ description: 'The function package to sign.', required: true }),
  };
  static override flags = {
    'bundle-out': Flags.string({
      description: 'Write the bundle here instead of FILE.sigstore.json.',
      helpValue: 'FILE',
    }),
    push: Flags.string({
      description: 'Also push the package as an OCI artifact to this repository[:tag] and attach the bundle.',
      helpValue: 'REF',
    }),
    ...signingFlags,
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SignFunction);
    const spec = await signerSpec(flags);
    // Loaded here, not at module level: `vouch --help` imports every command.
    const { publishFunction } = await import('../../src/bundles/index.js');
    const registry = flags.push ? await registryOptions(flags) : undefined;
    const signed = await signFile(args.file, spec);
    const pushed = flags.push
      ? await publishFunction(args.file, flags.push, signed, { registry })
      : undefined;
    const bundlePath = await writeBundleFile(
      flags['bundle-out'] ?? `${args.file}.sigstore.json`,
      signed.bundleBytes,
    );
    this.note(
      `signed ${args.file} (sha256:${signed.sha256}, ${signed.size} bytes) as ${signed.signer}` +
        (signed.tlogIndex === undefined ? '' : `, tlog index ${signed.tlogIndex}`),
    );
    if (pushed) this.note(`pushed ${pushed.pinned} and attached the bundle (${pushed.referrer.digest})`);
    this.render(
      {
        file: args.file,
        sha256: signed.sha256,
        size: signed.size,
        signer: signed.signer,
        ...(signed.issuer ? { issuer: signed.issuer } : {}),
        ...(signed.tlogIndex === undefined ? {} : { tlogIndex: signed.tlogIndex }),
        bundle: {
          digest: signed.digest,
          path: bundlePath,
          mediaType: signed.bundle.mediaType,
          content: signed.content,
        },
        ...(pushed
          ? {
              push: {
                reference: pushed.pinned,
                artifact: pushed.artifact.digest,
                referrer: pushed.referrer.digest,
                ...(pushed.tag ? { tag: pushed.tag } : {}),
              },
            }
          : {}),
      },
      (d) =>
        [
          `${d.bundle.digest} ${d.bundle.path}`,
          ...(d.push ? [`${d.push.referrer} ${d.push.reference}`] : []),
        ].join('\n'),
    );
  }
}
