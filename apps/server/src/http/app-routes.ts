/**
 * App routes (operators, bearer operator tokens). Only `POSTERN_APP_ORIGINS` get CORS access.
 */
import type { IncomingMessage } from 'node:http';
import {
  DIALOG_LIST_DEFAULT,
  DIALOG_LIST_MAX,
  type DialogList,
  isId,
  isRawObject,
  Paths,
} from '@postern/protocol';
import { dialogFrame } from '../chat/frames.js';
import { historyPage } from '../chat/history.js';
import { ErrorCode, PosternError } from '../errors.js';
import type { Revocations } from '../security/revocations.js';
import type { OperatorClaims, TokenService } from '../security/tokens.js';
import type { RevocationKind, Store } from '../store/types.js';
import type { Route } from './api.js';
import { bearerToken } from './bearer.js';
import { assertJsonRequest, BodyError, readJsonBody } from './body.js';
import { sendJson } from './respond.js';
import { historyQueryOf } from './widget-routes.js';

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

/** `?limit=N` of the dialog list (1..DIALOG_LIST_MAX), nothing else. */
function dialogListLimit(req: IncomingMessage): number {
  const url = req.url ?? '';
  const params = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const keys = [...params.keys()];
  if (keys.some((key) => key !== 'limit')) throw new BodyError('invalid_query');
  const values = params.getAll('limit');
  if (values.length === 0) return DIALOG_LIST_DEFAULT;
  const [value] = values;
  if (values.length > 1 || value === undefined || !/^[1-9]\d{0,3}$/.test(value)) {
    throw new BodyError('invalid_query');
  }
  const limit = Number(value);
  if (limit > DIALOG_LIST_MAX) throw new BodyError('invalid_query');
  return limit;
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
      method: 'GET',
      path: Paths.APP_DIALOGS,
      async handle({ req, res, headers }) {
        const operator = await authenticateOperator(deps.tokens, deps.revocations, req);
        const limit = dialogListLimit(req);
        // Filtered by the store, never after the fact: other sites' dialogs are never loaded.
        const found = await deps.store.listOpenDialogs({ sites: operator.sites, limit: limit + 1 });
        const body: DialogList = {
          dialogs: found.slice(0, limit).map((dialog) => {
            const { type: _type, ...summary } = dialogFrame(dialog);
            return summary;
          }),
          truncated: found.length > limit,
        };
        sendJson(res, 200, body, headers);
      },
    },
    {
      audience: 'app',
      method: 'GET',
      path: { prefix: `${Paths.APP_DIALOGS}/`, suffix: '/messages' },
      async handle({ req, res, param, headers }) {
        const operator = await authenticateOperator(deps.tokens, deps.revocations, req);
        const query = historyQueryOf(req);
        const dialog = param === undefined ? null : await deps.store.findDialog(param);
        // Outside the operator's sites looks exactly like missing (SPEC §3).
        if (!dialog || !operatorCovers(operator, dialog.siteId)) {
          throw new PosternError(ErrorCode.NOT_FOUND, 'dialog not found');
        }
        sendJson(res, 200, await historyPage(deps.store, dialog, query), headers);
      },
    },
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
