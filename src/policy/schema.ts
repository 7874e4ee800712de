/**
 * The JSON Schemas this folder validates against, compiled once. The schema files in schemas/
 * are the source of truth (docs/policy.md documents every property they name).
 */
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import policySchema from '../../schemas/policy.schema.json' with { type: 'json' };
import decisionSchema from '../../schemas/decision.schema.json' with { type: 'json' };

// ajv ships CommonJS; createRequire sidesteps the default-export interop differences between
// tsc (NodeNext) and vitest.
const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js').default;
const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;

let compiled: { policy: ValidateFunction; decision: ValidateFunction } | undefined;

function validators(): { policy: ValidateFunction; decision: ValidateFunction } {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    compiled = { policy: ajv.compile(policySchema), decision: ajv.compile(decisionSchema) };
  }
  return compiled;
}

export interface SchemaProblem {
  /** JSON pointer-ish path, e.g. `/signers/0/identity`. */
  path: string;
  message: string;
}

function toProblems(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? []).map((e) => {
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      message = `unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
    } else if (e.keyword === 'enum' || e.keyword === 'const') {
      const allowed = (e.params as { allowedValues?: unknown[]; allowedValue?: unknown }).allowedValues ?? [
        (e.params as { allowedValue?: unknown }).allowedValue,
      ];
      message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return { path: e.instancePath || '/', message };
  });
}

export function schemaProblems(doc: unknown): SchemaProblem[] {
  const v = validators().policy;
  return v(doc) ? [] : toProblems(v.errors);
}

export function decisionSchemaProblems(record: unknown): SchemaProblem[] {
  const v = validators().decision;
  return v(record) ? [] : toProblems(v.errors);
}

export { policySchema, decisionSchema };
