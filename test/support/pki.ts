/**
 * A throwaway test PKI made with the system `openssl`: a CA and leaf certificates (server
 * certificates with IP/DNS SANs for TLS registries, signing certificates for token issuers).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCa {
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
}

export interface TestLeaf {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** The certificate in DER, base64 (for a JWT `x5c` header). */
  derBase64: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCa(
  name = 'vouch test CA',
  dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-pki-')),
): TestCa {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return {
    dir,
    certFile: path.join(dir, 'ca.pem'),
    keyFile: path.join(dir, 'ca.key'),
    certPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
  };
}

/** Issues a leaf from `ca`: `server` → TLS server cert for 127.0.0.1/localhost; `signing` → JWT signer. */
export function issueLeaf(ca: TestCa, name: string, kind: 'server' | 'signing'): TestLeaf {
  const dir = ca.dir;
  const ext =
    kind === 'server'
      ? 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
      : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  const certPem = readFileSync(path.join(dir, `${name}.pem`), 'utf8');
  const der = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return {
    certFile: path.join(dir, `${name}.pem`),
    keyFile: path.join(dir, `${name}.key`),
    certPem,
    keyPem: readFileSync(path.join(dir, `${name}.key`), 'utf8'),
    derBase64: der,
  };
}
