/**
 * Admin API, a connection's Meta token (src/tokens/): check it now, or replace it. Scoped to the caller's tenant
 * like every admin route (another tenant's connection is 404). The token goes in, never comes out: answers carry
 * the connection's public view, whose `token` part says what Meta said (kind, expiry, scopes, last check, reason).
 *
 *   POST /admin/connections/:id/check-token   inspect now, renew if due; lifts needs_reauth when Meta says valid
 *   PUT  /admin/connections/:id/token          {accessToken, exchange?} replace it: Meta is asked first, so a token
 *                                              that is invalid, of another app, or not granted for this WABA/Page is
 *                                              refused (400) instead of breaking sends; a short-lived user token is
 *                                              exchanged for a long-lived one (exchange: false keeps it as given)
 */
import { Router } from 'express';
import Joi from 'joi';
import { HttpError } from '../errors';
import { publicView, type ConnectionRecord, type ConnectionRepository } from '../../store/connections';
import type { AuditLog } from '../../store/audit';
import { errorMessage } from '../../core/errors';
import type { TokenChecker, CheckResult } from '../../tokens/token-checker';
import type { TokenFacts, TokenInspector } from '../../tokens/token-inspector';
import { coverageProblem } from '../../tokens/token-policy';
import { actorOf, callerOf, scopeOf } from './auth';

export interface ConnectionTokenAdminDeps {
  connections: ConnectionRepository;
  audit: AuditLog;
  checker: TokenChecker;
  /** Absent without META_APP_ID: replacements are then stored without asking Meta. */
  inspector?: TokenInspector;
  onConnectionsChanged(): void;
}

const replaceSchema = Joi.object({
  accessToken: Joi.string().min(10).max(4096).required(),
  exchange: Joi.boolean().description('exchange a user token for a long-lived one; default: when it is short-lived (under 2 days left)'),
});

const SHORT_LIVED_MS = 2 * 24 * 3600 * 1000;

function metaSaid(err: unknown): string {
  return errorMessage(err).replace(/^Graph \S+( code \d+)?: /, '').slice(0, 200);
}

export function connectionTokenAdminRouter(deps: ConnectionTokenAdminDeps): Router {
  const router = Router();

  async function ownConnection(id: string, res: Parameters<typeof callerOf>[0]): Promise<ConnectionRecord> {
    const found = await deps.connections.findById(id, scopeOf(callerOf(res)));
    if (!found) throw new HttpError('not_found', 'no such connection');
    return found;
  }

  function answer(conn: ConnectionRecord, result: CheckResult): Record<string, unknown> {
    const view = publicView(conn);
    return { ...view, check: { outcome: result.outcome, reason: result.reason } };
  }

  router.post('/connections/:id/check-token', async (req, res) => {
    const caller = callerOf(res);
    const conn = await ownConnection(req.params.id as string, res);
    const result = await deps.checker.check(conn, 'admin');
    if (result.outcome === 'skipped') throw new HttpError('conflict', result.reason ?? 'this token cannot be checked');
    await deps.audit.record({ tenantId: conn.tenantId, actor: actorOf(caller), action: 'connection.token_check', target: { type: 'connection', id: conn.id },
      details: { outcome: result.outcome, health: result.health } });
    if (result.outcome === 'check_failed') throw new HttpError('upstream_failed', result.reason ?? 'Meta could not be asked');
    deps.onConnectionsChanged();
    res.json(answer((await deps.connections.findById(conn.id)) ?? conn, result));
  });

  router.put('/connections/:id/token', async (req, res) => {
    const caller = callerOf(res);
    const conn = await ownConnection(req.params.id as string, res);
    const { value, error } = replaceSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid token replacement', error.details.map((d) => d.message));
    const body = value as { accessToken: string; exchange?: boolean };
    const instagramLogin = conn.channel === 'instagram' && conn.options?.tokenKind === 'instagram_login';
    let token = body.accessToken;
    let exchanged = false;
    // The new token belongs to whoever made it, not to who granted the old one: for a user's or a Page's token
    // debug_token names that person (what Meta's Deauthorize and Data Deletion callbacks will name); otherwise
    // nobody known granted it.
    let grantedByUserId: string | null = null;
    if (deps.inspector && !instagramLogin) {
      const facts = await vet(deps.inspector, conn, token);
      if ((facts.kind === 'user' || facts.kind === 'page') && facts.userId) grantedByUserId = facts.userId;
      const shortLived = facts.kind === 'user' && facts.expiresAt !== null && facts.expiresAt.getTime() - Date.now() < SHORT_LIVED_MS;
      if (facts.kind === 'user' && (body.exchange ?? shortLived)) {
        const issued = await deps.inspector.exchangeForLongLived(token).catch((err: unknown) => {
          throw new HttpError('upstream_failed', `Meta would not exchange the token for a long-lived one: ${metaSaid(err)}`);
        });
        token = issued.accessToken;
        exchanged = true;
        await vet(deps.inspector, conn, token);
      }
    }
    const updated = await deps.connections.update(conn.id, { metaToken: token, grantedByUserId });
    if (!updated) throw new HttpError('not_found', 'no such connection');
    deps.onConnectionsChanged();
    // The same check the job runs, so the stored details and health match what Meta says of the new token.
    const result = deps.checker.canCheck(updated) ? await deps.checker.check(updated, 'admin') : undefined;
    const after = (await deps.connections.findById(conn.id)) ?? updated;
    await deps.audit.record({ tenantId: conn.tenantId, actor: actorOf(caller), action: 'connection.token_replace', target: { type: 'connection', id: conn.id },
      details: { exchanged, tokenKind: after.token?.kind ?? null, health: after.health, expiresAt: after.token?.expiresAt?.toISOString() ?? null } });
    res.json({ ...publicView(after), exchanged, ...(result ? { check: { outcome: result.outcome, reason: result.reason } } : {}) });
  });

  return router;
}

/** debug_token on a token an admin gave: refused (400) unless Meta accepts it for this app and this connection. */
async function vet(inspector: TokenInspector, conn: ConnectionRecord, token: string): Promise<TokenFacts> {
  const facts = await inspector.inspect(token).catch((err: unknown) => {
    throw new HttpError('upstream_failed', `Could not ask Meta about the token (debug_token): ${metaSaid(err)}`);
  });
  if (!facts.valid) throw new HttpError('invalid_request', `Meta does not accept this token: ${facts.problem?.message ?? 'not valid'}`);
  if (facts.appId && facts.appId !== inspector.appId) {
    throw new HttpError('invalid_request', `This token was issued to another Meta app (${facts.appId}), not this bridge's (${inspector.appId}).`);
  }
  const problem = coverageProblem(conn, facts);
  if (problem) throw new HttpError('invalid_request', `This token cannot send for this connection: ${problem}.`);
  return facts;
}
