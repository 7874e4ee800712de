/**
 * Public face of src/signing: Sigstore bundle v0.3 signing with a key file, a key plus an
 * organisation CA certificate, or keyless (Fulcio + Rekor + optional TSA). Knows nothing
 * of registries.
 */
export {
  signStatement,
  signStatements,
  signFile,
  sha256File,
  writeBundleFile,
  preAuthEncoding,
  BUNDLE_V03_MEDIA_TYPE,
  INTOTO_PAYLOAD_TYPE,
  INTOTO_STATEMENT_V1,
} from './sign.js';
export type { SignResult, SerializedBundle } from './sign.js';
export { prepareSigner, certificateIdentity, readCertificateChain } from './signer.js';
export type { SignerSpec, PreparedSigner, KeyMaterial } from './signer.js';
export {
  loadPrivateKey,
  parsePrivateKey,
  generateKeyPair,
  writeKeyPair,
  keyHint,
  keyTypeOf,
  isEncryptedPem,
  readKeyFile,
  KEY_TYPES,
} from './keys.js';
export type {
  KeyType,
  SigningKey,
  GenerateKeyPairOptions,
  GeneratedKeyPair,
  WrittenKeyPair,
} from './keys.js';
export { decodeToken, checkToken, resolveIdentityToken, tokenIdentity, SIGSTORE_AUDIENCE } from './oidc.js';
export type { TokenClaims, IdentityToken } from './oidc.js';
export { parseSigningConfig, readSigningConfig, PUBLIC_GOOD, SIGNING_CONFIG_MEDIA_TYPE } from './services.js';
export type { SigningServices, TlogService } from './services.js';
export {
  imageSignatureStatement,
  statement,
  digestSubject,
  readPredicate,
  checkPredicateType,
  predicateShortName,
  attestationBundlePath,
  subjectKind,
  attestFile,
  COSIGN_SIGN_PREDICATE_TYPE,
} from './statement.js';
export type { StatementSubject, Statement } from './statement.js';
