import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSubject, resolveSubjects } from '../../src/provenance/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vouch-subjects-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const data = Buffer.alloc(300_000, 3);
const file = path.join(tmp, 'fn.zip');
writeFileSync(file, data);

describe('file subjects', () => {
  it('sha256, and sha256 + sha512 with --digest sha512', async () => {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const sha512 = createHash('sha512').update(data).digest('hex');
    expect(await fileSubject(file)).toEqual({ name: 'fn.zip', digest: { sha256 } });
    expect(await fileSubject(file, 'sha512')).toEqual({ name: 'fn.zip', digest: { sha256, sha512 } });
  });
  it('resolveSubjects keeps the order and refuses duplicates', async () => {
    const other = path.join(tmp, 'b.jar');
    writeFileSync(other, 'b');
    const r = await resolveSubjects([file, other]);
    expect(r.map((s) => [s.kind, s.subject.name])).toEqual([
      ['file', 'fn.zip'],
      ['file', 'b.jar'],
    ]);
    await expect(resolveSubjects([file, file])).rejects.toMatchObject({
      exitCode: 2,
      code: 'DUPLICATE_SUBJECT',
    });
  });
});

describe('bad subjects are refused locally (exit 2), without contacting any registry', () => {
  it.each([
    ['a missing explicit path', () => path.join(tmp, 'missing.zip'), /no such file/],
    ['a missing relative package file', () => 'dist/fn.zip', /no such file: dist\/fn\.zip/],
    [
      'a directory',
      () => (mkdirSync(path.join(tmp, 'dir'), { recursive: true }), path.join(tmp, 'dir')),
      /is a directory/,
    ],
    ['an unparsable reference', () => 'Not A Ref', /neither an existing file nor an image reference/],
  ])('%s', async (_n, input, msg) => {
    await expect(resolveSubjects([input()])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(msg),
    });
  });
  it('no subject at all', async () => {
    await expect(resolveSubjects([])).rejects.toMatchObject({ exitCode: 2, code: 'NO_SUBJECT' });
  });
});

describe('writeFileAtomic', () => {
  it('writes the whole content and leaves no temp file', async () => {
    const { writeFileAtomic } = await import('../../src/provenance/index.js');
    const dir = path.join(tmp, 'out');
    mkdirSync(dir);
    await writeFileAtomic(path.join(dir, 'p.json'), '{"a":1}\n');
    await writeFileAtomic(path.join(dir, 'p.json'), '{"a":2}\n');
    const { readdirSync, readFileSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['p.json']);
    expect(readFileSync(path.join(dir, 'p.json'), 'utf8')).toBe('{"a":2}\n');
  });
  it('a missing directory is bad input naming the requested file', async () => {
    const { writeFileAtomic } = await import('../../src/provenance/index.js');
    const target = path.join(tmp, 'nodir', 'p.json');
    await expect(writeFileAtomic(target, 'x')).rejects.toMatchObject({
      exitCode: 2,
      message: `cannot write ${target}: no such directory ${path.dirname(target)}`,
    });
  });
});
