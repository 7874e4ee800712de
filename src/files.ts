/**
 * Files vouch writes (bundles, statements, policies, layout blobs, keys' neighbours) are never
 * half-written: a temp file in the same directory, fsync, then rename, so a reader or a crash
 * sees the old content or the new, nothing in between.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { badInput, ioFailure } from './errors.js';

export interface AtomicWriteOptions {
  mode?: number;
  /** Create missing parent directories (layouts do; user-named outputs do not). */
  createDirs?: boolean;
}

/** Writes `data` to `file` atomically. Raw filesystem errors propagate. */
export async function writeFileAtomic(
  file: string,
  data: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  if (opts.createDirs) await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes a file the user named (`--out`, `--bundle-out`, …) atomically; failures name that
 * file, not the temp file: a missing directory or no permission is bad input (exit 2), anything
 * else I/O (exit 3).
 */
export async function writeOutputFile(file: string, data: string | Buffer): Promise<void> {
  try {
    await writeFileAtomic(file, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw badInput(
        'OUT_DIR_MISSING',
        `cannot write ${file}: no such directory ${path.dirname(file)}`,
        'create the directory first',
        e,
      );
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw badInput(
        'OUT_NOT_WRITABLE',
        `cannot write ${file}: permission denied`,
        'choose a writable path',
        e,
      );
    if (code === 'EISDIR')
      throw badInput('OUT_IS_DIRECTORY', `cannot write ${file}: it is a directory`, 'name a file', e);
    throw ioFailure('WRITE_FAILED', `cannot write ${file}: ${(e as Error).message}`, undefined, e);
  }
}
