/**
 * Starts a real OCI registry (Debian's `docker-registry`, CNCF distribution 2.8) on a free
 * loopback port with temp storage. Variants: anonymous HTTP, htpasswd Basic auth, TLS with a
 * throwaway CA, and Bearer tokens from the loopback token issuer. Call stop() in afterAll.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { issueLeaf, makeTestCa } from './pki.js';
import { startTokenIssuer, type TokenIssuer } from './token-issuer.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export type RegistryAuth = 'none' | 'htpasswd' | 'tls' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  /** Label used in temp dir names. */
  name?: string;
  /** For 'token': also accept this refresh token in the OAuth2 POST flow. */
  identityToken?: string;
  /** For 'token': token lifetime in seconds (default 300). */
  tokenExpiresIn?: number;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://…` for the 'tls' variant. */
  url: string;
  auth: RegistryAuth;
  /** True unless the variant is 'tls' (pass plainHttp to the client). */
  plainHttp: boolean;
  /** PEM CA of the 'tls' variant. */
  caFile?: string;
  username?: string;
  password?: string;
  tokenIssuer?: TokenIssuer;
  storageDir: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function ping(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(`${url}/v2/`, { ...(ca ? { ca } : {}), timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const dir = mkdtempSync(path.join(os.tmpdir(), `vouch-reg-${opts.name ?? auth}-`));
  const storageDir = path.join(dir, 'data');
  const port = await freePort();
  const username = 'vouch-user';
  const password = 'S3cret-test-pass';
  let tokenIssuer: TokenIssuer | undefined;
  let caFile: string | undefined;
  let caPem: string | undefined;
  const lines = [
    'version: 0.1',
    'log: {level: error, accesslog: {disabled: true}}',
    'storage:',
    `  filesystem: {rootdirectory: ${storageDir}}`,
    '  delete: {enabled: true}',
    '  maintenance: {uploadpurging: {enabled: false}}',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: vouch-test-${port}`,
  ];
  if (auth === 'tls') {
    const ca = makeTestCa('vouch test registry CA', dir);
    const leaf = issueLeaf(ca, 'registry', 'server');
    caFile = ca.certFile;
    caPem = ca.certPem;
    lines.push('  tls:', `    certificate: ${leaf.certFile}`, `    key: ${leaf.keyFile}`);
  }
  if (auth === 'htpasswd') {
    const entry = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(dir, 'htpasswd'), entry + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: vouch-test', `    path: ${path.join(dir, 'htpasswd')}`);
  }
  if (auth === 'token') {
    tokenIssuer = await startTokenIssuer({
      username,
      password,
      ...(opts.identityToken ? { identityToken: opts.identityToken } : {}),
      ...(opts.tokenExpiresIn ? { expiresIn: opts.tokenExpiresIn } : {}),
    });
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${tokenIssuer.realm}`,
      `    service: ${tokenIssuer.service}`,
      `    issuer: ${tokenIssuer.issuer}`,
      `    rootcertbundle: ${tokenIssuer.rootCertFile}`,
    );
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const logFd = openSync(path.join(dir, 'registry.log'), 'a');
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const scheme = auth === 'tls' ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  let exited = false;
  // A test file that dies before its afterAll must not leave registries running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.on('exit', () => {
    exited = true;
    process.removeListener('exit', killOnExit);
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    await tokenIssuer?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await ping(url, caPem))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start on port ${port} (${auth})`);
    }
    await new Promise((r) => setTimeout(r, 30));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    auth,
    plainHttp: auth !== 'tls',
    ...(caFile ? { caFile } : {}),
    ...(auth === 'htpasswd' || auth === 'token' ? { username, password } : {}),
    ...(tokenIssuer ? { tokenIssuer } : {}),
    storageDir,
    stop,
  };
}
