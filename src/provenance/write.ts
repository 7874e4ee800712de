import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { badInput, ioFailure } from '../errors.js';

/**
 * Writes a file atomically: a temp file in the same directory, then rename, so a reader (or
 * a crash) never sees half a statement or bundle.
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { mode: 0o644, flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    // Name the file the user asked for, not the temp file.
    if (code === 'ENOENT')
      throw badInput(
        'OUT_DIR_MISSING',
        `cannot write ${file}: no such directory ${path.dirname(file)}`,
        'create the directory first',
        e,
      );
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw badInput(
        'OUT_NOT_WRITABLE',
        `cannot write ${file}: permission denied`,
        'choose a writable --out path',
        e,
      );
    }
    if (code === 'EISDIR')
      throw badInput(
        'OUT_IS_DIRECTORY',
        `cannot write ${file}: it is a directory`,
        'name a file with --out',
        e,
      );
    throw ioFailure('WRITE_FAILED', `cannot write ${file}: ${(e as Error).message}`, undefined, e);
  }
}
