/**
 * A throw-away TLS identity made with the `openssl` command line, exactly as the deployment guide
 * tells an operator to make one for a test: self-signed P-256, `localhost` and 127.0.0.1, one day.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsPair {
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate's PEM: the only CA a client should trust to reach this server. */
  readonly ca: Buffer;
}

/** Writes `<name>-cert.pem` and `<name>-key.pem` into `dir`. */
export function makeTlsPair(dir: string, name: string): TlsPair {
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-days', '1', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      ...['-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, ca: readFileSync(certFile) };
}
