import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../cli/base.js';
import { registryFlags, registryOptions } from '../cli/flags/registry.js';
import { signingFlags, signerSpec } from '../cli/flags/signing.js';
import { badInput } from '../src/errors.js';
import {
  runProvenance,
  SCAN_FORMATS,
  type ProvenanceOutcome,
  type ScanFormat,
} from '../src/provenance/index.js';

export default class Provenance extends VouchCommand {
  static override summary =
    'Generate SLSA provenance v1 for images and files (optionally signed and pushed).';
  static override description = `Writes an in-toto Statement v1 with a SLSA Provenance v1 predicate (https://slsa.dev/provenance/v1) for every SUBJECT: an existing file (sha256, plus sha512 with --digest sha512) or an image reference (registry/repo[:tag|@digest] or oci:DIR[:tag]), resolved to its digest once.

The builder, build type, parameters and invocation come from the CI platform detected in the environment (GitHub Actions, GitLab CI, Buildkite, Jenkins, CircleCI, Azure Pipelines, Google Cloud Build, Tekton; otherwise a local build). Only an allowlist of each platform's variables is read. The source (repository without credentials, commit, ref, tags, dirty tree) comes from the CI variables and the git checkout in the current directory or --source-dir.

With --scan (Trivy JSON, Grype JSON or SARIF 2.1) the report is recorded as a byproduct with its severity counts and converted into a second statement (https://in-toto.io/attestation/vulns/v0.2), written next to --out as <name>.vulns.json (signed: <name>.vulns.sigstore.json).

Without --sign the statement goes to --out or stdout. With --sign it is signed as a DSSE Sigstore bundle (key, org CA or keyless) written to --out or stdout; --push also attaches every bundle to each image subject as an OCI referrer. See docs/provenance.md.`;
  static override examples = [
    '<%= config.bin %> provenance dist/function.zip > provenance.json',
    '<%= config.bin %> provenance registry.example.com/app:1.4.0 --scan trivy.json --scan-format trivy --out app.intoto.json',
    '<%= config.bin %> provenance registry.example.com/app@sha256:… --sign --key vouch.key --push --out app.sigstore.json',
    '<%= config.bin %> provenance fn.zip --digest sha512 --material https://example.com/base.tar@sha256:… --builder-id https://ci.example.com/builders/tekton',
  ];
  static override strict = false;
  static override args = {
    subject: Args.string({ description: 'Files and/or image references (one or more).' }),
  };
  static override flags = {
    scan: Flags.string({
      description: 'Vulnerability scan report to attach (needs --scan-format).',
      helpValue: 'FILE',
    }),
    'scan-format': Flags.string({ description: 'Format of --scan.', options: [...SCAN_FORMATS] }),
    'builder-id': Flags.string({
      description: 'Override the detected builder id (a URI).',
      helpValue: 'URI',
    }),
    'build-type': Flags.string({
      description: 'Override the detected build type (a URI).',
      helpValue: 'URI',
    }),
    material: Flags.string({
      description: 'Extra resolved dependency as URI@sha256:HEX (repeatable).',
      helpValue: 'URI@sha256:HEX',
      multiple: true,
    }),
    'source-dir': Flags.string({
      description: 'Git checkout to record as the source (default: current directory).',
      helpValue: 'DIR',
    }),
    digest: Flags.string({
      description: 'Digest for file subjects: sha256, or sha512 for sha256 and sha512.',
      options: ['sha256', 'sha512'],
      default: 'sha256',
    }),
    out: Flags.string({
      char: 'o',
      description: 'Write the statement (or bundle, with --sign) here instead of stdout.',
      helpValue: 'FILE',
    }),
    sign: Flags.boolean({ description: 'Sign the statements as DSSE Sigstore bundles.', default: false }),
    push: Flags.boolean({
      description: 'Attach the signed bundles to every image subject (needs --sign).',
      default: false,
    }),
    ...signingFlags,
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Provenance);
    const subjects = (argv as string[]).filter((a) => a !== '');
    // Non-strict parsing (for SUBJECT...) passes unknown flags through as arguments.
    const unknown = subjects.find((a) => a.startsWith('-'));
    if (unknown) throw badInput('USAGE', `unknown flag ${unknown}`, 'see: vouch provenance --help');
    // Checked here rather than with oclif's required/dependsOn, whose multi-line messages lose
    // the flag names when cut to one line.
    if (subjects.length === 0)
      throw badInput(
        'NO_SUBJECT',
        'no SUBJECT given',
        'name at least one file or image reference: vouch provenance FILE|IMAGE...',
      );
    if (flags.scan && !flags['scan-format'])
      throw badInput(
        'SCAN_FORMAT_MISSING',
        '--scan needs --scan-format',
        `name the report format: --scan-format ${SCAN_FORMATS.join('|')}`,
      );
    if (flags['scan-format'] && !flags.scan)
      throw badInput('SCAN_MISSING', '--scan-format needs --scan FILE');
    if (flags.push && !flags.sign)
      throw badInput(
        'PUSH_NEEDS_SIGN',
        '--push needs --sign',
        'only signed bundles are attached to images: add --sign',
      );
    const outcome = await runProvenance({
      subjects,
      digest: flags.digest as 'sha256' | 'sha512',
      registry: await registryOptions(flags),
      builderId: flags['builder-id'],
      buildType: flags['build-type'],
      materials: flags.material,
      sourceDir: flags['source-dir'],
      scan: flags.scan ? { path: flags.scan, format: flags['scan-format'] as ScanFormat } : undefined,
      out: flags.out,
      sign: flags.sign ? await signerSpec(flags) : undefined,
      push: flags.push,
    });
    for (const w of outcome.warnings) this.note(`warning: ${w}`);
    for (const line of humanSummary(outcome)) this.note(line);
    if (this.json) this.render(jsonSummary(outcome), () => '');
    else if (!outcome.provenance.out) process.stdout.write(outcome.provenance.text);
  }
}

function humanSummary(o: ProvenanceOutcome): string[] {
  const p = o.generated.statement.predicate;
  const lines = [
    `provenance for ${o.subjects.length} subject(s), builder ${p.runDetails.builder.id} (${o.generated.ci})` +
      (o.generated.source.commit ? `, source ${o.generated.source.commit.slice(0, 12)}` : ''),
  ];
  const where = (d: { out?: string; kind: string; signer?: string }) =>
    `${d.kind === 'bundle' ? `signed by ${d.signer}, ` : ''}${d.out ? `written to ${d.out}` : 'on stdout'}`;
  lines.push(`${o.provenance.kind}: ${where(o.provenance)}`);
  if (o.vulns) {
    const c = o.vulns.counts;
    lines.push(
      `vulns: critical ${c.critical}, high ${c.high}, medium ${c.medium}, low ${c.low}, unknown ${c.unknown}` +
        (o.vulns.out ? `; ${where(o.vulns)}` : ''),
    );
  }
  for (const r of o.pushed) lines.push(`attached ${r.predicateType} to ${r.subject} (${r.digest})`);
  return lines;
}

function jsonSummary(o: ProvenanceOutcome): Record<string, unknown> {
  const st = o.generated.statement;
  const doc = (d: ProvenanceOutcome['provenance']) => ({
    predicateType: d.predicateType,
    kind: d.kind,
    ...(d.out ? { out: d.out } : { [d.kind]: JSON.parse(d.text) as unknown }),
    ...(d.signer ? { signer: d.signer, bundleDigest: d.bundleDigest } : {}),
  });
  return {
    subjects: o.subjects.map((s) => ({
      kind: s.kind,
      input: s.input,
      name: s.subject.name,
      digest: s.subject.digest,
    })),
    ci: o.generated.ci,
    builderId: st.predicate.runDetails.builder.id,
    buildType: st.predicate.buildDefinition.buildType,
    source: o.generated.source,
    provenance: doc(o.provenance),
    ...(o.vulns ? { vulns: { ...doc(o.vulns), counts: o.vulns.counts } } : {}),
    pushed: o.pushed,
    warnings: o.warnings,
  };
}
