/**
 * Decoding the in-toto statement inside a DSSE envelope. The envelope's signature is checked
 * elsewhere (src/verify); this only reads what was signed, defensively: the payload comes from
 * an untrusted registry or file.
 */
import { rejected } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE, type Statement } from './statement.js';
import { validateStatement } from './validate.js';

/** Largest statement vouch will decode (provenance of large monorepos runs to a few MB). */
export const MAX_STATEMENT_BYTES = 16 * 1024 * 1024;

export interface DsseEnvelopeLike {
  payloadType?: unknown;
  /** base64 (JSON form) or raw bytes (protobuf-specs form, as in a parsed sigstore bundle). */
  payload?: unknown;
}

/** The payload bytes of a DSSE envelope whose payloadType is in-toto. */
export function dssePayloadBytes(envelope: DsseEnvelopeLike): Buffer {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw rejected(
      'DSSE_PAYLOAD_TYPE',
      `DSSE payloadType is ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`,
      'only in-toto attestations are accepted in DSSE envelopes',
    );
  }
  const p = envelope.payload;
  let bytes: Buffer;
  if (typeof p === 'string') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(p))
      throw rejected('DSSE_PAYLOAD', 'DSSE payload is not base64', 'the envelope is corrupt');
    if ((p.length * 3) / 4 > MAX_STATEMENT_BYTES) throw tooLarge();
    bytes = Buffer.from(p, 'base64');
  } else if (p instanceof Uint8Array) bytes = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  else throw rejected('DSSE_PAYLOAD', 'DSSE envelope has no payload', 'the envelope is corrupt');
  if (bytes.length > MAX_STATEMENT_BYTES) throw tooLarge();
  return bytes;
}

/** Parses statement bytes (JSON) and validates them against the schemas (v0.1 accepted: reading). */
export function parseStatement(bytes: Buffer | string): Statement {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw rejected(
      'STATEMENT_JSON',
      `in-toto statement is not valid JSON: ${(e as Error).message}`,
      'the attestation is corrupt',
      e,
    );
  }
  return validateStatement(doc, { allowV01: true });
}

/** Decodes and validates the in-toto statement of a DSSE envelope. */
export function decodeDssePayload(envelope: DsseEnvelopeLike): Statement {
  return parseStatement(dssePayloadBytes(envelope));
}

function tooLarge() {
  return rejected(
    'DSSE_PAYLOAD_SIZE',
    `DSSE payload exceeds ${MAX_STATEMENT_BYTES} bytes`,
    'the attestation is too large to be accepted',
  );
}
