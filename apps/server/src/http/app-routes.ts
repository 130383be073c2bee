/**
 * App routes (operators, bearer operator tokens). Only `POSTERN_APP_ORIGINS` get CORS access.
 */
import type { IncomingMessage } from 'node:http';
import { isId, isRawObject, Paths } from '@postern/protocol';
import { ErrorCode, PosternError } from '../errors.js';
import type { Revocations } from '../security/revocations.js';
import type { OperatorClaims, TokenService } from '../security/tokens.js';
import type { RevocationKind, Store } from '../store/types.js';
import type { Route } from './api.js';
import { bearerToken } from './bearer.js';
import { assertJsonRequest, BodyError, readJsonBody } from './body.js';
import { sendJson } from './respond.js';

export interface AppRouteDeps {
  readonly tokens: TokenService;
  readonly revocations: Revocations;
  readonly store: Store;
  readonly bodyMaxBytes: number;
  readonly now: () => number;
}

/** Verifies the operator token of a request, revocation included. */
export async function authenticateOperator(
  tokens: TokenService,
  revocations: Revocations,
  req: IncomingMessage,
): Promise<OperatorClaims> {
  const claims = await tokens.verifyOperator(bearerToken(req));
  revocations.assertNotRevoked({ jti: claims.jti });
  return claims;
}

/** Whether an operator's `sites` claim covers `siteId`. */
export function operatorCovers(claims: OperatorClaims, siteId: string): boolean {
  return claims.sites === '*' || claims.sites.includes(siteId);
}

const TARGETS: readonly [string, RevocationKind][] = [
  ['jti', 'jti'],
  ['site_id', 'site'],
  ['visitor_id', 'visitor'],
];

/** `{jti}` / `{site_id}` / `{visitor_id}`: exactly one, an id-shaped string. */
function parseRevocation(body: unknown): { kind: RevocationKind; target: string } {
  if (!isRawObject(body)) throw new BodyError('invalid_body');
  const given = TARGETS.filter(([field]) => body[field] !== undefined);
  const [entry] = given;
  if (given.length !== 1 || entry === undefined) throw new BodyError('invalid_body');
  const [field, kind] = entry;
  const target = body[field];
  // Site-token jtis come from customers' minting code: allow any short printable string.
  const valid =
    kind === 'jti'
      ? typeof target === 'string' && /^[\x21-\x7e]{1,128}$/.test(target)
      : isId(target);
  if (!valid) throw new BodyError('invalid_body');
  return { kind, target: target as string };
}

export function appRoutes(deps: AppRouteDeps): Route[] {
  /** The site a revocation target belongs to, or `null` when it cannot be known. */
  async function siteOf(kind: RevocationKind, target: string): Promise<string | null> {
    if (kind === 'site') return target;
    if (kind === 'visitor') return (await deps.store.findVisitor(target))?.siteId ?? null;
    return (await deps.store.findSiteToken(target))?.siteId ?? null;
  }

  return [
    {
      audience: 'app',
      method: 'POST',
      path: Paths.APP_REVOCATIONS,
      async handle({ req, res, headers }) {
        const operator = await authenticateOperator(deps.tokens, deps.revocations, req);
        // Revoking is an admin power: checked before the body is read, so a caller without it
        // learns nothing about what a valid request looks like.
        if (!operator.scope.includes('admin')) {
          throw new PosternError(ErrorCode.FORBIDDEN, 'admin scope required');
        }
        assertJsonRequest(req);
        const { kind, target } = parseRevocation(await readJsonBody(req, deps.bodyMaxBytes));
        // Only over the operator's own sites; a target whose site cannot be known needs the
        // all-sites admin.
        if (operator.sites !== '*') {
          const site = await siteOf(kind, target);
          if (site === null || !operatorCovers(operator, site)) {
            throw new PosternError(ErrorCode.FORBIDDEN, 'target outside the operator sites');
          }
        }
        // The audit line is written where every revocation passes (server.ts), system ones too.
        await deps.revocations.revoke(kind, target, operator.operatorId, deps.now());
        sendJson(res, 200, { revoked: { kind, id: target } }, headers);
      },
    },
  ];
}
