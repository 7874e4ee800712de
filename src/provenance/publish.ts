/**
 * The whole `vouch provenance` flow as one library call: resolve subjects → generate →
 * (sign) → write → (push). Everything is generated and signed before anything is written or
 * pushed, so a signing failure leaves no half-set of files behind.
 */
import path from 'node:path';
import { badInput } from '../errors.js';
import type { RegistryOptions } from '../oci/index.js';
import type { SignerSpec, SignResult } from '../signing/index.js';
import { generateProvenance, type GeneratedProvenance, type GenerateOptions } from './generate.js';
import type { SeverityCounts } from './scan.js';
import { resolveSubjects, type ResolvedSubject, type SubjectDigest } from './subjects.js';
import { writeOutputFile } from '../files.js';

export interface ProvenanceRun extends Omit<GenerateOptions, 'subjects'> {
  /** SUBJECT arguments: files and/or image references. */
  subjects: string[];
  digest?: SubjectDigest;
  registry?: RegistryOptions;
  /** Where the provenance (statement, or bundle when signing) is written; stdout when absent. */
  out?: string;
  /** Sign the statements as DSSE bundles with this signer. */
  sign?: SignerSpec;
  /** Attach the bundles to every image subject (needs `sign`). */
  push?: boolean;
}

export interface WrittenDocument {
  predicateType: string;
  kind: 'statement' | 'bundle';
  /** The JSON text written (or to print on stdout when `out` is absent). */
  text: string;
  out?: string;
  signer?: string;
  /** sha256 of the bundle bytes. */
  bundleDigest?: string;
}

export interface PushedReferrer {
  subject: string;
  predicateType: string;
  /** The referrer manifest's digest. */
  digest: string;
}

export interface ProvenanceOutcome {
  generated: GeneratedProvenance;
  subjects: ResolvedSubject[];
  provenance: WrittenDocument;
  vulns?: WrittenDocument & { counts: SeverityCounts };
  pushed: PushedReferrer[];
  warnings: string[];
}

/**
 * Where the vulns attestation goes, next to `out`: `prov.json` → `prov.vulns.json`,
 * `prov.sigstore.json` → `prov.vulns.sigstore.json` (signed: always `.vulns.sigstore.json`).
 */
export function vulnsPath(out: string, signed: boolean): string {
  const dir = path.dirname(out);
  const base = path.basename(out).replace(/\.sigstore\.json$|\.json$/, '');
  return path.join(dir, `${base}.vulns.${signed ? 'sigstore.json' : 'json'}`);
}

export async function runProvenance(run: ProvenanceRun): Promise<ProvenanceOutcome> {
  if (run.push && !run.sign)
    throw badInput('PUSH_NEEDS_SIGN', '--push needs --sign', 'only signed bundles are attached to images');
  const subjects = await resolveSubjects(run.subjects, { digest: run.digest, registry: run.registry });
  const images = subjects.filter((s) => s.kind === 'image');
  if (run.push && images.length === 0) {
    throw badInput(
      'PUSH_NO_IMAGE',
      '--push needs at least one image subject',
      'files are not pushed; their bundles are written with --out',
    );
  }
  const generated = await generateProvenance({ ...run, subjects: subjects.map((s) => s.subject) });
  const warnings = [...generated.warnings];

  let provSigned: SignResult | undefined;
  let vulnsSigned: SignResult | undefined;
  if (run.sign) {
    const signing = await import('../signing/index.js');
    provSigned = await signing.signStatement(generated.statement, run.sign);
    if (generated.vulns) vulnsSigned = await signing.signStatement(generated.vulns, run.sign);
  }

  const provenance: WrittenDocument = provSigned
    ? document(generated.statement.predicateType, provSigned, run.out)
    : {
        predicateType: generated.statement.predicateType,
        kind: 'statement',
        text: json(generated.statement),
        ...(run.out ? { out: run.out } : {}),
      };

  let vulns: ProvenanceOutcome['vulns'];
  if (generated.vulns && generated.scan) {
    const out = run.out ? vulnsPath(run.out, vulnsSigned !== undefined) : undefined;
    const doc: WrittenDocument = vulnsSigned
      ? document(generated.vulns.predicateType, vulnsSigned, out)
      : {
          predicateType: generated.vulns.predicateType,
          kind: 'statement',
          text: json(generated.vulns),
          ...(out ? { out } : {}),
        };
    vulns = { ...doc, counts: generated.scan.counts };
    if (!out && !run.push)
      warnings.push('the vulns attestation is only written with --out (or attached with --push)');
  }

  if (provenance.out) await writeOutputFile(provenance.out, provenance.text);
  if (vulns?.out) await writeOutputFile(vulns.out, vulns.text);

  const pushed: PushedReferrer[] = [];
  if (run.push) {
    const { attachBundle } = await import('../bundles/index.js');
    const signed = [provSigned, vulnsSigned].filter((s): s is SignResult => s !== undefined);
    for (const img of images) {
      for (const s of signed) {
        // The exact signed bytes, so the referrer layer and the --out file hash alike.
        const referrer = await attachBundle(img.store!, img.descriptor!, s.bundle, { bytes: s.bundleBytes });
        pushed.push({
          subject: `${img.store!.name}@${img.descriptor!.digest}`,
          predicateType: s.predicateType ?? '',
          digest: referrer.digest,
        });
      }
    }
  }
  const files = subjects.filter((s) => s.kind === 'file');
  if (run.push && files.length > 0)
    warnings.push(`${files.length} file subject(s) are not pushed: keep the bundle next to the file`);

  return { generated, subjects, provenance, ...(vulns ? { vulns } : {}), pushed, warnings };
}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

function document(predicateType: string, s: SignResult, out: string | undefined): WrittenDocument {
  return {
    predicateType,
    kind: 'bundle',
    // Bundle bytes exactly as signed and pushed, so the file and the referrer hash alike.
    text: s.bundleBytes.toString('utf8'),
    ...(out ? { out } : {}),
    signer: s.signer,
    bundleDigest: s.digest,
  };
}
