/**
 * JSON Schema (2020-12) validation of statements and the predicates vouch writes or reads.
 * Generated statements are validated before they are signed or printed; a failure there is a
 * bug in vouch, so it is reported as a rejection (exit 1) naming the schema path.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { rejected } from '../errors.js';
import { PredicateType, STATEMENT_TYPE_V01, STATEMENT_TYPE_V1, type Statement } from './statement.js';
import resourceDescriptorSchema from '../../schemas/in-toto-resource-descriptor-v1.schema.json' with { type: 'json' };
import statementSchema from '../../schemas/in-toto-statement-v1.schema.json' with { type: 'json' };
import provenanceV1Schema from '../../schemas/slsa-provenance-v1.schema.json' with { type: 'json' };
import provenanceV02Schema from '../../schemas/slsa-provenance-v0.2.schema.json' with { type: 'json' };
import vulnsV02Schema from '../../schemas/vulns-v0.2.schema.json' with { type: 'json' };
import vsaV1Schema from '../../schemas/verification-summary-v1.schema.json' with { type: 'json' };
import dsseEnvelopeSchema from '../../schemas/dsse-envelope.schema.json' with { type: 'json' };

/** Schema ids, for callers that want to validate one part on its own. */
export const SchemaId = {
  resourceDescriptor: resourceDescriptorSchema.$id,
  statement: statementSchema.$id,
  slsaProvenanceV1: provenanceV1Schema.$id,
  slsaProvenanceV02: provenanceV02Schema.$id,
  vulnsV02: vulnsV02Schema.$id,
  verificationSummaryV1: vsaV1Schema.$id,
  dsseEnvelope: dsseEnvelopeSchema.$id,
} as const;
export type SchemaName = keyof typeof SchemaId;

/** Predicate types whose predicate vouch checks against a schema of its own. */
export const PREDICATE_SCHEMAS: Readonly<Record<string, SchemaName>> = {
  [PredicateType.slsaProvenanceV1]: 'slsaProvenanceV1',
  [PredicateType.slsaProvenanceV02]: 'slsaProvenanceV02',
  [PredicateType.vulnsV02]: 'vulnsV02',
  [PredicateType.verificationSummaryV1]: 'verificationSummaryV1',
};

export interface SchemaProblem {
  /** Which schema failed, e.g. `slsa-provenance-v1.schema.json`. */
  schema: string;
  /** JSON pointer into the validated document (from its root, e.g. `/predicate/runDetails/builder/id`). */
  instancePath: string;
  /** JSON pointer into the schema, e.g. `#/properties/runDetails/required`. */
  schemaPath: string;
  message: string;
}

type AjvInstance = InstanceType<typeof Ajv2020>;
let ajv: AjvInstance | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

function instance(): AjvInstance {
  if (ajv) return ajv;
  // allErrors off: the first problem is what the one-line error reports. verbose: errors
  // carry the offending value and the schema object, so a problem can name the schema file it
  // comes from even through a $ref. strict: a typo in a schema fails loudly, not silently.
  const a = new Ajv2020({ allErrors: false, strict: true, strictRequired: false, verbose: true });
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
    ajv: AjvInstance,
  ) => void;
  addFormats(a);
  for (const s of [
    resourceDescriptorSchema,
    statementSchema,
    provenanceV1Schema,
    provenanceV02Schema,
    vulnsV02Schema,
    vsaV1Schema,
    dsseEnvelopeSchema,
  ]) {
    a.addSchema(s);
  }
  ajv = a;
  return a;
}

function validator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    v = instance().getSchema(SchemaId[name]);
    if (!v) throw new Error(`schema ${name} is not registered`);
    compiled.set(name, v);
  }
  return v;
}

function fileName(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}

let owners: WeakMap<object, string> | undefined;
/** Which schema file a (sub)schema object belongs to. */
function ownerOf(schemaObject: unknown): string | undefined {
  if (!owners) {
    owners = new WeakMap();
    const walk = (v: unknown, file: string): void => {
      if (!v || typeof v !== 'object') return;
      owners!.set(v, file);
      for (const x of Object.values(v)) walk(x, file);
    };
    for (const s of [
      resourceDescriptorSchema,
      statementSchema,
      provenanceV1Schema,
      provenanceV02Schema,
      vulnsV02Schema,
      vsaV1Schema,
      dsseEnvelopeSchema,
    ]) {
      walk(s, fileName(s.$id));
    }
  }
  return schemaObject && typeof schemaObject === 'object' ? owners.get(schemaObject) : undefined;
}

function toProblem(name: SchemaName, e: ErrorObject, prefix: string): SchemaProblem {
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required')
    message = `missing required field ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}`;
  else if (e.keyword === 'const')
    message = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  else if (e.keyword === 'pattern') message = `${message} (got ${JSON.stringify(e.data)})`;
  return {
    schema: ownerOf(e.parentSchema) ?? fileName(SchemaId[name]),
    instancePath: prefix + e.instancePath,
    schemaPath: e.schemaPath,
    message,
  };
}

/** Validates a document against one schema; returns the first problem, or undefined when valid. */
export function checkSchema(name: SchemaName, doc: unknown, prefix = ''): SchemaProblem | undefined {
  const v = validator(name);
  if (v(doc)) return undefined;
  const e = v.errors?.[0];
  return e
    ? toProblem(name, e, prefix)
    : { schema: fileName(SchemaId[name]), instancePath: prefix, schemaPath: '#', message: 'is invalid' };
}

/**
 * Checks a statement and, for the predicate types in PREDICATE_SCHEMAS, its predicate.
 * Statement v0.1 is accepted only with `allowV01` (reading old provenance); it differs from
 * v1 only in `_type`.
 */
export function checkStatement(stmt: unknown, opts: { allowV01?: boolean } = {}): SchemaProblem | undefined {
  let doc = stmt;
  if (opts.allowV01 && isObject(stmt) && stmt._type === STATEMENT_TYPE_V01)
    doc = { ...stmt, _type: STATEMENT_TYPE_V1 };
  const p = checkSchema('statement', doc);
  if (p) return p;
  const s = doc as Statement;
  const predicateSchema = PREDICATE_SCHEMAS[s.predicateType];
  return predicateSchema ? checkSchema(predicateSchema, s.predicate, '/predicate') : undefined;
}

export function describeProblem(p: SchemaProblem): string {
  return `${p.instancePath || '/'} ${p.message} (schema ${p.schema}${p.schemaPath})`;
}

/**
 * Throws an exit-1 VouchError naming the schema path when the statement (or its known
 * predicate) does not match its schema; returns it typed when it does.
 */
export function validateStatement<P = Record<string, unknown>>(
  stmt: unknown,
  opts: { allowV01?: boolean; what?: string } = {},
): Statement<P> {
  const p = checkStatement(stmt, opts);
  if (p) {
    const err = rejected(
      'STATEMENT_SCHEMA',
      `${opts.what ?? 'in-toto statement'} does not match its schema: ${describeProblem(p)}`,
      'the statement is malformed; if vouch generated it, please report a bug',
    );
    Object.assign(err, { details: { ...p } });
    throw err;
  }
  return stmt as Statement<P>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
