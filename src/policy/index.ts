/** Public face of src/policy: policy files, validation, plain-words description, decision records. */
export type * from './types.js';
export { loadPolicy, parsePolicyText, policyFromDocument, resolvePolicyKey } from './load.js';
export { validatePolicy, anchored, type PolicyProblem } from './validate.js';
export { describePolicy, describeSigner, describeIdentity } from './describe.js';
export { policyInit, policyWarnings, type PolicyInitOptions } from './init.js';
export { decisionRecord, appendDecision, type DecisionRecord, type DecisionInput } from './decision.js';
export { schemaProblems, decisionSchemaProblems, policySchema, decisionSchema } from './schema.js';
