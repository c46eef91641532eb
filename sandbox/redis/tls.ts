import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate authority generated for one sandbox; every server it signs trusts the others. */
export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the CA certificate: what a client passes as `ca`. */
  readonly certPem: string;
}

/** A server certificate for 127.0.0.1 and localhost, signed by a {@link CertificateAuthority}. */
export interface ServerCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly caPem: string;
}

/** The host name the sandbox certificates are issued for (also valid: IP 127.0.0.1). */
export const SANDBOX_TLS_SERVERNAME = 'localhost';

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    throw new Error(`openssl ${args[0] ?? ''} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Generates a P-256 CA (valid 2 days) in `dir` with the `openssl` CLI. */
export async function generateCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=redis-sandbox-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

/**
 * Issues a server (and client, for replication and the cluster bus) certificate in `dir`, for
 * 127.0.0.1 and localhost plus the exact names and addresses in `altNames`.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  dir: string,
  altNames: { readonly dns?: readonly string[]; readonly ip?: readonly string[] } = {},
): Promise<ServerCertificate> {
  const subjectAltNames = [
    'IP:127.0.0.1',
    `DNS:${SANDBOX_TLS_SERVERNAME}`,
    ...(altNames.ip ?? []).map((ip) => `IP:${ip}`),
    ...(altNames.dns ?? []).map((name) => `DNS:${name}`),
  ];
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const extFile = join(dir, 'server.ext');
  await writeFile(
    extFile,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${subjectAltNames.join(',')}`,
      '',
    ].join('\n'),
  );
  await openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csrFile,
    '-subj',
    `/CN=${SANDBOX_TLS_SERVERNAME}`,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    // A random serial per certificate: `-CAcreateserial` keeps a counter file next to the CA,
    // which certificates signed in parallel with one CA (a group's nodes) race on.
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    extFile,
  ]);
  return { certFile, keyFile, caFile: ca.certFile, caPem: ca.certPem };
}
