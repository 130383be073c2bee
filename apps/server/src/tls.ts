/**
 * TLS on the public port: `POSTERN_TLS_CERT_FILE` + `POSTERN_TLS_KEY_FILE` (both or neither).
 * The files are read and checked once, at start-up, like every other setting: a typo in a path, a
 * truncated PEM or a key of another certificate stops the server with a line naming the variable,
 * instead of a server that starts and then fails every handshake. Without them the public port
 * speaks plain HTTP, for a TLS-terminating proxy in front (docs/deployment.md).
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import {
  createServer as createHttpServer,
  type RequestListener,
  type Server,
  type ServerOptions,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** The certificate chain and private key the public port serves, as read from their files. */
export interface TlsCredentials {
  /** PEM: the server certificate first, then any intermediates. */
  readonly cert: Buffer;
  /** PEM: the unencrypted private key of the first certificate. */
  readonly key: Buffer;
}

const CERT_FILE = 'POSTERN_TLS_CERT_FILE';
const KEY_FILE = 'POSTERN_TLS_KEY_FILE';

/** A TLS handshake must finish this fast (Node's default, 120 s, lets idle sockets pile up). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Reads the TLS files named by the two variables. Returns `null` when neither is set, or after
 * reporting a problem through `report(variable, rule)` — which never carries a file's contents
 * (one holds a private key).
 */
export function readTlsCredentials(
  certPath: string | undefined,
  keyPath: string | undefined,
  readFile: (path: string) => Buffer,
  report: (name: string, rule: string) => void,
): TlsCredentials | null {
  if (certPath === undefined && keyPath === undefined) return null;
  // One of the two alone is a half-done set-up: serving plain HTTP instead would be a surprise.
  if (certPath === undefined) {
    report(CERT_FILE, `must be set together with ${KEY_FILE}`);
    return null;
  }
  if (keyPath === undefined) {
    report(KEY_FILE, `must be set together with ${CERT_FILE}`);
    return null;
  }
  const cert = readOrReport(certPath, CERT_FILE, readFile, report);
  const key = readOrReport(keyPath, KEY_FILE, readFile, report);
  if (cert === undefined || key === undefined) return null;

  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    report(CERT_FILE, 'is not a PEM certificate');
    return null;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    report(KEY_FILE, 'is not an unencrypted PEM private key');
    return null;
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    report(KEY_FILE, `is not the key of the certificate in ${CERT_FILE}`);
    return null;
  }
  return { cert, key };
}

function readOrReport(
  path: string,
  name: string,
  readFile: (path: string) => Buffer,
  report: (name: string, rule: string) => void,
): Buffer | undefined {
  try {
    return readFile(path);
  } catch {
    report(name, 'file cannot be read');
    return undefined;
  }
}

/**
 * The public listener: HTTPS with `tls`, else plain HTTP. Both are `http.Server`s to their users
 * (an `https.Server` is one with TLS underneath), so requests and WebSocket upgrades take the same
 * path either way.
 */
export function createPublicServer(
  tls: TlsCredentials | null,
  options: ServerOptions,
  handle: RequestListener,
): Server {
  if (tls === null) return createHttpServer(options, handle);
  return createHttpsServer(
    { ...options, cert: tls.cert, key: tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
    handle,
  );
}
