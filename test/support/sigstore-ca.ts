/**
 * An organisation CA for signing tests, made with the system `openssl`: an ECDSA P-256 root and
 * a code-signing leaf issued for a given private key (the "org CA" signer), plus the TrustedRoot
 * entry a verifier needs to accept it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface OrgCa {
  dir: string;
  rootPem: string;
  /** Issues a leaf for the (unencrypted PEM) key; returns the path of a PEM with leaf + root. */
  issue(keyPemPath: string, san: string, name?: string): string;
  /** TrustedRoot `certificateAuthorities` entry for this CA. */
  trustEntry(): Record<string, unknown>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeOrgCa(cn = 'Acme Release CA'): OrgCa {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-orgca-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      `/O=Acme/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const rootPem = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  const der = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return {
    dir,
    rootPem,
    issue(keyPemPath, san, name = `leaf${Math.random().toString(36).slice(2, 8)}`) {
      writeFileSync(
        path.join(dir, `${name}.ext`),
        `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=${san}\n`,
      );
      openssl(['req', '-new', '-key', keyPemPath, '-out', `${name}.csr`, '-subj', `/O=Acme/CN=${name}`], dir);
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
          '1',
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
      const chain = path.join(dir, `${name}.chain.pem`);
      writeFileSync(chain, readFileSync(path.join(dir, `${name}.pem`), 'utf8') + rootPem);
      return chain;
    },
    trustEntry() {
      return {
        subject: { organization: 'Acme', commonName: cn },
        uri: 'https://ca.acme.test',
        certChain: { certificates: [{ rawBytes: der(rootPem) }] },
        validFor: { start: new Date(Date.now() - 24 * 3600 * 1000).toISOString() },
      };
    },
  };
}
