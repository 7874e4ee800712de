/**
 * Turning SUBJECT arguments into statement subjects. An existing file is hashed (streamed);
 * anything else is an image reference, resolved to its manifest digest exactly once — every
 * later step (signing, attaching) uses that digest, never the tag.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { badInput, toVouchError } from '../errors.js';
import type { Subject } from '../attestation/index.js';
import type { Descriptor, RegistryOptions, Store } from '../oci/index.js';

export type SubjectDigest = 'sha256' | 'sha512';

export interface ResolvedSubject {
  kind: 'file' | 'image';
  /** The argument as given. */
  input: string;
  subject: Subject;
  /** Image subjects: the store holding the image and its manifest descriptor (for --push). */
  store?: Store;
  descriptor?: Descriptor;
}

/** More subjects than this in one statement is refused (a statement is held in memory and signed whole). */
export const MAX_SUBJECTS = 1024;

/** sha256 (and sha512 when asked) of a file in one streamed pass. */
export async function fileSubject(file: string, digest: SubjectDigest = 'sha256'): Promise<Subject> {
  const h256 = createHash('sha256');
  const h512 = digest === 'sha512' ? createHash('sha512') : undefined;
  try {
    await pipeline(
      createReadStream(file),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          h256.update(chunk);
          h512?.update(chunk);
          cb();
        },
      }),
    );
  } catch (e) {
    throw toVouchError(e);
  }
  return {
    name: path.basename(file),
    digest: { sha256: h256.digest('hex'), ...(h512 ? { sha512: h512.digest('hex') } : {}) },
  };
}

async function isFile(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const st = await stat(p);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** Package file extensions: a missing `dist/fn.zip` is a typo, not a Docker Hub image to fetch. */
const FILE_EXTENSION =
  /\.(zip|jar|war|ear|tgz|tar|gz|bz2|xz|zst|whl|egg|gem|nupkg|deb|rpm|apk|exe|msi|bin|json|ya?ml|txt|so|dll|dylib|wasm)$/i;

/** Explicit paths, or names whose last component is a package file name. */
function looksLikePath(input: string): boolean {
  if (/^(\/|\.{1,2}\/|~\/)/.test(input) || input.includes('\\')) return true;
  const first = input.split('/')[0] ?? '';
  // An explicit registry host (`host.tld/…`, `host:port/…`, `localhost/…`) means an image.
  const hasHost =
    input.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return !hasHost && FILE_EXTENSION.test(input.split(/[:@]/)[0]!);
}

/**
 * Resolves SUBJECT arguments: files are hashed, image references resolved to digests (the
 * OCI layer is loaded only when an image is named). Duplicate subjects are refused: they
 * would make the statement ambiguous about what was built.
 */
export async function resolveSubjects(
  inputs: string[],
  opts: { digest?: SubjectDigest; registry?: RegistryOptions } = {},
): Promise<ResolvedSubject[]> {
  if (inputs.length === 0)
    throw badInput('NO_SUBJECT', 'no subject given', 'name at least one file or image reference');
  if (inputs.length > MAX_SUBJECTS)
    throw badInput('TOO_MANY_SUBJECTS', `${inputs.length} subjects, more than ${MAX_SUBJECTS}`);
  const out: ResolvedSubject[] = [];
  for (const input of inputs) {
    const kind = input.startsWith('oci:') ? undefined : await isFile(input);
    if (kind === 'dir') {
      throw badInput(
        'SUBJECT_IS_DIRECTORY',
        `${input} is a directory`,
        `name a file, or an OCI image layout as oci:${input}`,
      );
    }
    if (kind === 'file') {
      out.push({ kind: 'file', input, subject: await fileSubject(input, opts.digest) });
      continue;
    }
    if (looksLikePath(input)) {
      throw badInput(
        'FILE_NOT_FOUND',
        `no such file: ${input}`,
        'check the path (an image is registry/repository[:tag|@digest] or oci:DIR)',
      );
    }
    const oci = await import('../oci/index.js');
    let ref;
    try {
      ref = oci.parseReference(input);
    } catch (e) {
      throw badInput(
        'SUBJECT',
        `${input} is neither an existing file nor an image reference: ${(e as Error).message}`,
        'check the path, or give an image as registry/repository[:tag|@digest] or oci:DIR[:tag]',
        e,
      );
    }
    const store = await oci.openStore(ref, opts.registry ?? {});
    const descriptor = await store.resolve(ref.digest ?? ref.tag ?? 'latest');
    const [alg, hex] = descriptor.digest.split(':');
    if (alg !== 'sha256' || !hex) {
      throw badInput(
        'SUBJECT_DIGEST',
        `${input} resolves to ${descriptor.digest}; only sha256 image digests are supported`,
      );
    }
    out.push({
      kind: 'image',
      input,
      subject: { name: store.name, digest: { sha256: hex } },
      store,
      descriptor,
    });
  }
  const seen = new Set<string>();
  for (const s of out) {
    const key = `${s.subject.name}@${s.subject.digest.sha256}`;
    if (seen.has(key)) throw badInput('DUPLICATE_SUBJECT', `subject ${s.input} is named twice`);
    seen.add(key);
  }
  return out;
}
