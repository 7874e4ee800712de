import { describe, expect, it } from 'vitest';
import {
  PredicateType,
  STATEMENT_TYPE_V1,
  buildStatement,
  decodeDssePayload,
  digestSetsMatch,
  matchingSubjects,
  splitDigest,
  statementBindsDigest,
  validateStatement,
} from '../../src/attestation/index.js';
import { VouchError } from '../../src/errors.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function provenance(id = 'https://example.com/builder') {
  return {
    buildDefinition: { buildType: 'https://example.com/bt/v1', externalParameters: {} },
    runDetails: { builder: { id } },
  };
}

describe('buildStatement', () => {
  it('writes a Statement v1 with lower-cased digests and copies the subjects', () => {
    const subjects = [{ name: 'fn.zip', digest: { sha256: A.toUpperCase(), arn: 'arn:aws:Lambda' } }];
    const st = buildStatement(subjects, PredicateType.slsaProvenanceV1, provenance());
    subjects[0]!.name = 'changed';
    expect(st._type).toBe(STATEMENT_TYPE_V1);
    expect(st.subject).toEqual([{ name: 'fn.zip', digest: { sha256: A, arn: 'arn:aws:Lambda' } }]);
    expect(validateStatement(st)).toBe(st);
  });
});

describe('subject matching', () => {
  const st = buildStatement(
    [
      { name: 'a', digest: { sha256: A } },
      { name: 'b', digest: { sha256: B, sha512: 'c'.repeat(128) } },
    ],
    'x',
    {},
  );
  it('statementBindsDigest finds a subject by algorithm and hex (case-insensitive)', () => {
    expect(statementBindsDigest(st, 'sha256', A)).toBe(true);
    expect(statementBindsDigest(st, 'sha256', B.toUpperCase())).toBe(true);
    expect(statementBindsDigest(st, 'sha256', 'd'.repeat(64))).toBe(false);
    expect(statementBindsDigest(st, 'sha512', A)).toBe(false);
    expect(statementBindsDigest(st, 'sha256', '')).toBe(false);
    expect(statementBindsDigest({ subject: 'nope' } as never, 'sha256', A)).toBe(false);
  });
  it('digest sets match only when every shared algorithm agrees (in-toto digest_set rules)', () => {
    expect(digestSetsMatch({ sha256: 'abcd', sha512: '1234' }, { sha256: 'abcd' })).toBe(true);
    expect(digestSetsMatch({ sha256: 'abcd' }, { sha256: 'fedb', sha512: 'abcd' })).toBe(false);
    expect(digestSetsMatch({ sha256: 'abcd', sha512: '1234' }, { sha256: 'abcd', sha512: '9999' })).toBe(
      false,
    );
    expect(digestSetsMatch({ sha1: 'abcd' }, { sha256: 'abcd' })).toBe(false);
    expect(matchingSubjects(st, { sha256: B }).map((s) => s.name)).toEqual(['b']);
  });
  it('splitDigest parses the OCI digest form', () => {
    expect(splitDigest(`sha256:${A.toUpperCase()}`)).toEqual({ alg: 'sha256', hex: A });
    expect(splitDigest('sha256')).toBeUndefined();
  });
});

describe('validateStatement', () => {
  it('rejects (exit 1) naming the instance and schema path of the first problem', () => {
    const st = buildStatement([{ digest: { sha256: A } }], PredicateType.slsaProvenanceV1, provenance(''));
    let err: unknown;
    try {
      validateStatement(st);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VouchError);
    const ve = err as VouchError;
    expect(ve.exitCode).toBe(1);
    expect(ve.message).toContain('/predicate/runDetails/builder/id');
    expect(ve.message).toContain(
      'slsa-provenance-v1.schema.json#/properties/runDetails/properties/builder/properties/id/minLength',
    );
  });
  it('checks subjects digests against their algorithm', () => {
    const st = buildStatement([{ digest: { sha256: 'abc123' } }], 'x', {});
    expect(() => validateStatement(st)).toThrow(
      /\/subject\/0\/digest\/sha256 must match pattern .*\(got "abc123"\) \(schema in-toto-resource-descriptor-v1\.schema\.json#/,
    );
  });
  it('checks the vulns predicate', () => {
    const st = buildStatement([{ digest: { sha256: A } }], PredicateType.vulnsV02, {
      scanner: { uri: 'x', result: [] },
    });
    expect(() => validateStatement(st)).toThrow(/missing required field "metadata"/);
  });
  it('does not police predicates it has no schema for', () => {
    expect(() =>
      validateStatement(buildStatement([{ digest: { sha256: A } }], 'https://example.com/p', { any: 1 })),
    ).not.toThrow();
  });
});

describe('decodeDssePayload', () => {
  const st = buildStatement([{ digest: { sha256: A } }], PredicateType.slsaProvenanceV1, provenance());
  const payload = Buffer.from(JSON.stringify(st)).toString('base64');
  it('decodes and validates an in-toto payload (base64 or bytes)', () => {
    expect(decodeDssePayload({ payloadType: 'application/vnd.in-toto+json', payload })).toEqual(st);
    expect(
      decodeDssePayload({
        payloadType: 'application/vnd.in-toto+json',
        payload: Buffer.from(JSON.stringify(st)),
      }),
    ).toEqual(st);
  });
  it.each([
    ['another payloadType', { payloadType: 'text/plain', payload }, /payloadType is "text\/plain"/],
    ['no payload', { payloadType: 'application/vnd.in-toto+json' }, /no payload/],
    ['non-base64 payload', { payloadType: 'application/vnd.in-toto+json', payload: '%%%' }, /not base64/],
    [
      'non-JSON payload',
      { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{"_type":').toString('base64') },
      /not valid JSON/,
    ],
    [
      'a statement without subject',
      {
        payloadType: 'application/vnd.in-toto+json',
        payload: Buffer.from(JSON.stringify({ ...st, subject: [] })).toString('base64'),
      },
      /\/subject must NOT have fewer than 1 items/,
    ],
  ])('refuses %s with exit 1', (_n, env, msg) => {
    try {
      decodeDssePayload(env);
      expect.unreachable();
    } catch (e) {
      expect((e as VouchError).exitCode).toBe(1);
      expect((e as Error).message).toMatch(msg);
    }
  });
});
