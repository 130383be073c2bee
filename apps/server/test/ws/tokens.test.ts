/**
 * Tokens at `auth` on both endpoints (SPEC §2, §4): one kind is refused where another is
 * expected, signature before expiry, and a visitor token is bound to its exact origin and to the
 * site token that minted it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SHOP, SITE_SECRET, startHarness } from '../support/harness.js';
import {
  appAuth,
  claimsOf,
  closeOpened,
  expectDrained,
  expiredVisitorToken,
  newVisitor,
  OPERATOR_SECRET,
  open,
  readyVisitor,
  revoke,
  SHARED_SERVER_ENV,
  signByHand,
  unsignedToken,
  VISITOR_SECRET,
  type VisitorSession,
  widgetAuth,
} from '../support/ws-client.js';

const CAPACITY = 6;
const AUTH_FAILED = { code: 4002, reason: 'auth_failed' };

// One server for the whole file: every test mints its own site tokens and visitors, and closes
// its sockets (checked by `expectDrained`), so tests cannot see each other's state.
let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({
    env: { ...SHARED_SERVER_ENV, POSTERN_MAX_SOCKETS: String(CAPACITY) },
  });
});
afterAll(() => harness.close());
afterEach(() => closeOpened(harness));

/** The claims of `visitor`'s token that bind it (for hand-made variants of it). */
function bindingOf(visitor: VisitorSession) {
  const claims = claimsOf(visitor.visitorToken);
  return {
    sub: String(claims['sub']),
    site_id: String(claims['site_id']),
    sjti: String(claims['sjti']),
    origin: String(claims['origin']),
  };
}

describe('WebSocket tokens > the right kind on the right endpoint', () => {
  it('refuses a visitor token on /v1/ws/app with 4002', async () => {
    const visitor = await newVisitor(harness);
    const socket = await appAuth(harness, visitor.visitorToken);
    expect(await socket.closed()).toMatchObject(AUTH_FAILED);
    await expectDrained(harness, CAPACITY);
  });

  it('refuses an operator token on /v1/ws/widget with 4002', async () => {
    const socket = await widgetAuth(harness, await harness.operatorToken());
    expect(await socket.closed()).toMatchObject(AUTH_FAILED);
  });

  it('refuses a site token as a visitor token with 4002', async () => {
    const site = await harness.siteToken();
    const socket = await widgetAuth(harness, site.token);
    expect(await socket.closed()).toMatchObject(AUTH_FAILED);
  });

  it('refuses a visitor token signed with the operator key and typ with 4002', async () => {
    const visitor = await newVisitor(harness);
    const forged = await signByHand(
      { ...claimsOf(visitor.visitorToken), aud: 'postern:app' },
      { typ: 'operator+jwt', secret: OPERATOR_SECRET },
    );
    expect(await (await widgetAuth(harness, forged)).closed()).toMatchObject(AUTH_FAILED);
    const retyped = await signByHand(claimsOf(visitor.visitorToken), {
      typ: 'JWT',
      secret: SITE_SECRET,
    });
    expect(await (await widgetAuth(harness, retyped)).closed()).toMatchObject(AUTH_FAILED);
  });

  it('accepts an operator token on /v1/ws/app', async () => {
    const socket = await appAuth(harness, await harness.operatorToken());
    expect(await socket.next()).toMatchObject({ type: 'ready' });
    expect(socket.frames[0]).not.toHaveProperty('visitor_id');
  });
});

describe('WebSocket tokens > signature first, then expiry', () => {
  it('closes 4001 on an expired visitor token with a valid signature', async () => {
    const visitor = await newVisitor(harness);
    const socket = await widgetAuth(harness, await expiredVisitorToken(bindingOf(visitor)));
    expect(await socket.closed()).toMatchObject({ code: 4001, reason: 'auth_expired' });
    await expectDrained(harness, CAPACITY);
  });

  it('closes 4002, never 4001, on an expired visitor token with a bad signature', async () => {
    const visitor = await newVisitor(harness);
    const forged = await expiredVisitorToken(bindingOf(visitor), {
      secret: 'not-the-visitor-secret-0123456789abcdef',
    });
    expect(await (await widgetAuth(harness, forged)).closed()).toMatchObject(AUTH_FAILED);
    // The same token with its signature bytes flipped.
    const genuine = await expiredVisitorToken(bindingOf(visitor));
    const [header, payload] = genuine.split('.');
    const flipped = `${header}.${payload}.${'A'.repeat(42)}E`;
    expect(await (await widgetAuth(harness, flipped)).closed()).toMatchObject(AUTH_FAILED);
  });

  it('closes 4001 on an expired operator token with a valid signature', async () => {
    const exp = Math.floor(Date.now() / 1000) - 300;
    const token = await signByHand(
      {
        iss: 'postern',
        aud: 'postern:app',
        jti: 'op-jti-expired',
        iat: exp - 600,
        exp,
        sub: 'op_1',
        name: 'Ana',
        sites: ['*'],
        scope: [],
      },
      { typ: 'operator+jwt', secret: OPERATOR_SECRET },
    );
    expect(await (await appAuth(harness, token)).closed()).toMatchObject({
      code: 4001,
      reason: 'auth_expired',
    });
  });

  it.each([
    ['a word', 'garbage'],
    ['three dots', '...'],
    ['three segments of nothing', 'a.b.c'],
    ['a JWS with a JSON header only', `${Buffer.from('{}').toString('base64url')}.e30.sig`],
    ['a very long string', 'x'.repeat(5000)],
  ])('closes 4002 on garbage: %s', async (_name, token) => {
    expect(await (await widgetAuth(harness, token)).closed()).toMatchObject(AUTH_FAILED);
  });

  it('closes 4002 on alg none, however spelled, on both endpoints', async () => {
    const visitor = await newVisitor(harness);
    const payload = claimsOf(visitor.visitorToken);
    for (const token of [
      unsignedToken('visitor+jwt', payload),
      unsignedToken('visitor+jwt', payload).replace('"none"', '"None"'),
    ]) {
      expect(await (await widgetAuth(harness, token)).closed()).toMatchObject(AUTH_FAILED);
    }
    const operator = claimsOf(await harness.operatorToken());
    const unsigned = unsignedToken('operator+jwt', operator);
    expect(await (await appAuth(harness, unsigned)).closed()).toMatchObject(AUTH_FAILED);
    await expectDrained(harness, CAPACITY);
  });
});

describe('WebSocket tokens > a visitor token is bound to its origin', () => {
  it.each([
    'http://shop.example.evil.test:8080',
    'http://evilshop.example:8080',
    'http://sub.shop.example:8080',
    'https://shop.example:8080',
    'http://shop.example:8081',
    'http://shop.example',
  ])('closes 4003 when a SHOP token is used from %s', async (origin) => {
    const visitor = await newVisitor(harness);
    const socket = await widgetAuth(harness, visitor.visitorToken, origin);
    expect(await socket.closed()).toMatchObject({ code: 4003, reason: 'forbidden_origin' });
    await expectDrained(harness, CAPACITY);
  });

  it('accepts the token from its origin however the header spells it', async () => {
    const visitor = await newVisitor(harness);
    const socket = await widgetAuth(harness, visitor.visitorToken, 'HTTP://Shop.Example:8080');
    expect(await socket.next()).toMatchObject({ type: 'ready' });
  });

  it('binds a subdomain visitor to the subdomain, not to the site', async () => {
    const sub = 'http://sub.shop.example:8080';
    const visitor = await newVisitor(harness, undefined, sub);
    await readyVisitor(harness, visitor.visitorToken, sub);
    const socket = await widgetAuth(harness, visitor.visitorToken, SHOP);
    expect(await socket.closed()).toMatchObject({ code: 4003, reason: 'forbidden_origin' });
  });
});

describe('WebSocket tokens > a visitor token is bound to its site token (sjti)', () => {
  it('closes new auths 4006 site_revoked once the minting site token is revoked', async () => {
    const site = await harness.siteToken();
    const visitor = await newVisitor(harness, site);
    const other = await newVisitor(harness); // another site token of the same site
    expect(await revoke(harness, { jti: site.jti })).toBe(200);
    const socket = await widgetAuth(harness, visitor.visitorToken);
    expect(await socket.closed()).toMatchObject({ code: 4006, reason: 'site_revoked' });
    // Visitors minted from another site token of the same site are not touched.
    await readyVisitor(harness, other.visitorToken);
  });

  // What narrowing looks like today: site tokens are immutable capabilities, so a narrower one
  // for the same site does not narrow the old one. Revoking the old token's jti is the way.
  it('keeps a visitor on its own site token when a narrower one is minted for the same site', async () => {
    const wide = await harness.siteToken({ allowedDomains: ['shop.example', 'other.example'] });
    const narrow = await harness.siteToken({ allowedDomains: ['other.example'] });
    const visitor = await newVisitor(harness, wide);
    // The narrow token refuses SHOP for new sessions…
    expect((await harness.session(narrow.token, SHOP)).status).toBe(403);
    // …but the visitor minted from the wide one still authenticates: bound to its own sjti.
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    expect(claimsOf(visitor.visitorToken)['sjti']).toBe(wide.jti);
    // Revoking the wide token closes it and refuses it from then on.
    const closing = socket.closed();
    expect(await revoke(harness, { jti: wide.jti })).toBe(200);
    expect(await closing).toMatchObject({ code: 4006, reason: 'site_revoked' });
    const again = await widgetAuth(harness, visitor.visitorToken);
    expect(await again.closed()).toMatchObject({ code: 4006, reason: 'site_revoked' });
  });

  it('closes 4002 on a genuine visitor token whose site token was never seen', async () => {
    const visitor = await newVisitor(harness);
    const token = await signByHand(
      {
        ...claimsOf(visitor.visitorToken),
        sjti: 'never-recorded',
        jti: 'jti-unknown-sjti',
      },
      { typ: 'visitor+jwt', secret: VISITOR_SECRET },
    );
    expect(await (await widgetAuth(harness, token)).closed()).toMatchObject(AUTH_FAILED);
  });

  it('closes 4003 when the minting site token does not allow the token origin', async () => {
    // A token minted by hand (with the real key) for an origin its site token never allowed.
    const visitor = await newVisitor(harness);
    const origin = 'http://elsewhere.example:8080';
    const token = await signByHand(
      { ...claimsOf(visitor.visitorToken), origin, jti: 'jti-foreign-origin' },
      { typ: 'visitor+jwt', secret: VISITOR_SECRET },
    );
    const socket = await widgetAuth(harness, token, origin);
    expect(await socket.closed()).toMatchObject({ code: 4003, reason: 'forbidden_origin' });
  });
});

describe('WebSocket tokens > resume at auth', () => {
  it("closes 4004 on resuming a dialog that is missing or not the visitor's", async () => {
    const visitor = await newVisitor(harness);
    const stranger = await newVisitor(harness);
    for (const dialogId of ['no_such_dialog', stranger.dialogId]) {
      const socket = await open(harness, '/v1/ws/widget', { Origin: SHOP });
      socket.send({
        type: 'auth',
        token: visitor.visitorToken,
        resume: { dialog_id: dialogId, after_seq: 0 },
      });
      expect(await socket.closed()).toMatchObject({ code: 4004, reason: 'not_found' });
    }
    await expectDrained(harness, CAPACITY);
  });

  it("resumes the visitor's own open dialog", async () => {
    const visitor = await newVisitor(harness);
    const socket = await open(harness, '/v1/ws/widget', { Origin: SHOP });
    socket.send({
      type: 'auth',
      token: visitor.visitorToken,
      resume: { dialog_id: visitor.dialogId, after_seq: 0 },
    });
    expect(await socket.next()).toMatchObject({ type: 'ready', dialog_id: visitor.dialogId });
  });
});
