/**
 * Request bodies: JSON only (415 otherwise), at most `maxBytes` (413, counted as bytes arrive,
 * so a lying or missing Content-Length cannot make the server buffer more).
 */
import type { IncomingMessage } from 'node:http';
import type { HttpErrorCode } from '@postern/protocol';

export class BodyError extends Error {
  constructor(readonly code: HttpErrorCode) {
    super(code);
    this.name = 'BodyError';
  }
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type] = header.split(';', 1);
  return type?.trim().toLowerCase() === 'application/json';
}

/** Reads and parses a JSON body; an empty body is `{}`. */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      req.resume();
      reject(new BodyError('payload_too_large'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (code: HttpErrorCode) => {
      if (settled) return;
      settled = true;
      req.resume();
      reject(new BodyError(code));
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) fail('payload_too_large');
      else if (!settled) chunks.push(chunk);
    });
    req.on('error', () => fail('bad_request'));
    req.on('end', () => {
      if (settled) return;
      settled = true;
      if (size === 0) return resolve({});
      if (!isJsonContentType(req.headers['content-type'])) {
        return reject(new BodyError('unsupported_media_type'));
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new BodyError('invalid_body'));
      }
    });
  });
}

/** Checks the media type before reading anything (415 beats 413 for a non-JSON upload). */
export function assertJsonRequest(req: IncomingMessage): void {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  if (hasBody && !isJsonContentType(req.headers['content-type'])) {
    throw new BodyError('unsupported_media_type');
  }
}
