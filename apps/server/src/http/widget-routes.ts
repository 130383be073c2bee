/**
 * Widget routes: the session endpoint and the visitor's own history. Every refusal is readable
 * by the widget (CORS headers are on every response), so it can tell the visitor why.
 */
import type { IncomingMessage } from 'node:http';
import { isRawObject, Paths } from '@postern/protocol';
import { historyPage, parseHistoryQuery } from '../chat/history.js';
import { ErrorCode, PosternError } from '../errors.js';
import type { Revocations } from '../security/revocations.js';
import type { TokenService } from '../security/tokens.js';
import type { SiteAccess } from '../sessions/site-access.js';
import type { WidgetSessions } from '../sessions/widget-session.js';
import type { Store } from '../store/types.js';
import type { Route } from './api.js';
import { bearerToken } from './bearer.js';
import { assertJsonRequest, BodyError, readJsonBody } from './body.js';
import { sendJson } from './respond.js';

export interface WidgetRouteDeps {
  readonly sessions: WidgetSessions;
  readonly tokens: TokenService;
  readonly revocations: Revocations;
  readonly siteAccess: SiteAccess;
  readonly store: Store;
  readonly bodyMaxBytes: number;
  /** Throws `ERR_RATE_LIMITED` when this client creates sessions too fast. */
  readonly admitNewSessionFrom: (req: IncomingMessage) => void;
}

/** The history page a request asks for; `400 invalid_query` when the query is malformed. */
export function historyQueryOf(req: IncomingMessage) {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  const query = parseHistoryQuery(at === -1 ? '' : url.slice(at + 1));
  if (query === null) throw new BodyError('invalid_query');
  return query;
}

/** The site token rides in the query string (the preflight needs it); nothing else does. */
function siteTokenOf(url: string | undefined): string | null {
  const query = (url ?? '').split('?')[1];
  return query === undefined ? null : new URLSearchParams(query).get('site_token');
}

export function widgetRoutes(deps: WidgetRouteDeps): Route[] {
  return [
    {
      audience: 'widget',
      method: 'POST',
      path: Paths.WIDGET_SESSION,
      async handle({ req, res, origin, headers }) {
        assertJsonRequest(req);
        const body = await readJsonBody(req, deps.bodyMaxBytes);
        if (!isRawObject(body)) throw new BodyError('invalid_body');
        const refreshToken = body['refresh_token'];
        if (refreshToken !== undefined && typeof refreshToken !== 'string') {
          throw new BodyError('invalid_body');
        }
        // The visitor is bound to the page's origin; a request without one has no page.
        if (origin === null) throw new PosternError(ErrorCode.ORIGIN_FORBIDDEN, 'no origin');
        const siteToken = siteTokenOf(req.url);
        if (siteToken === null) throw new PosternError(ErrorCode.AUTH_FAILED, 'no site token');
        if (refreshToken === undefined) deps.admitNewSessionFrom(req);
        const session = await deps.sessions(
          refreshToken === undefined ? { siteToken, origin } : { siteToken, origin, refreshToken },
        );
        sendJson(res, 200, session, headers);
      },
    },
    {
      audience: 'widget',
      method: 'GET',
      path: { prefix: `${Paths.WIDGET_DIALOGS}/`, suffix: '/messages' },
      async handle({ req, res, origin, param, headers }) {
        const claims = await deps.tokens.verifyVisitor(bearerToken(req));
        // A visitor token works only from the page it was minted for (SPEC §2).
        if (origin !== claims.origin) {
          throw new PosternError(ErrorCode.ORIGIN_FORBIDDEN, 'not the token origin');
        }
        await deps.siteAccess.forVisitor(claims.siteJti, origin);
        deps.revocations.assertNotRevoked({
          jti: claims.jti,
          siteJti: claims.siteJti,
          siteId: claims.siteId,
          visitorId: claims.visitorId,
        });
        const dialog = param === undefined ? null : await deps.store.findDialog(param);
        // "Not yours" and "missing" look the same (SPEC §3).
        if (!dialog || dialog.visitorId !== claims.visitorId) {
          throw new PosternError(ErrorCode.NOT_FOUND, 'dialog not found');
        }
        sendJson(res, 200, await historyPage(deps.store, dialog, historyQueryOf(req)), headers);
      },
    },
  ];
}
