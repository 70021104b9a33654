/**
 * Admin API, dead letters: list, show, replay (one, or a connection's), discard. A dead letter belongs to the
 * tenant of its connection: a tenant sees only those of its own connections and gets 404 for any other; the
 * super-admin sees all, including those of deleted connections (which can be discarded, not replayed).
 * Responses hold ids, kinds, counts and reasons (phone-like digit runs masked), never the sealed content.
 */
import { Router } from 'express';
import Joi from 'joi';
import { HttpError } from '../errors';
import type { ConnectionRecord, ConnectionRepository } from '../../store/connections';
import type { DeadLetter, DeadLetterRepository } from '../../store/dead-letters';
import { DEAD_LETTER_LIST_MAX } from '../../store/dead-letters';
import type { AuditLog } from '../../store/audit';
import type { Metrics } from '../../metrics';
import { QueueUnavailable, type LanePayload } from '../../queue/pipeline';
import { ReplayRefused, describeWork, type DeadLetterReplayer, type ReplayOutcome } from '../../queue/dead-letter-replay';
import { maskPhonesIn } from '../../log/redact';
import { actorOf, callerOf, scopeOf, type Caller } from './auth';

export interface DeadLetterAdminDeps {
  deadLetters: DeadLetterRepository;
  replayer: DeadLetterReplayer;
  connections: ConnectionRepository;
  audit: AuditLog;
  metrics: Pick<Metrics, 'deadLettersResolved'>;
}

const listQuery = Joi.object({
  connectionId: Joi.string().max(64),
  direction: Joi.string().valid('inbound', 'outbound'),
  limit: Joi.number().integer().min(1).max(DEAD_LETTER_LIST_MAX).default(100),
});

const bulkReplayBody = Joi.object({
  connectionId: Joi.string().max(64).required(),
  limit: Joi.number().integer().min(1).max(DEAD_LETTER_LIST_MAX).default(100),
});

function view(letter: DeadLetter): Record<string, unknown> {
  return { ...letter, reason: maskPhonesIn(letter.reason), createdAt: letter.createdAt.toISOString(), expiresAt: letter.expiresAt.toISOString() };
}

export function deadLetterAdminRouter(deps: DeadLetterAdminDeps): Router {
  const router = Router();

  router.get('/dead-letters', async (req, res) => {
    const { value, error } = listQuery.validate(req.query, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid dead-letter query', error.details.map((d) => d.message));
    const q = value as { connectionId?: string; direction?: 'inbound' | 'outbound'; limit: number };
    const caller = callerOf(res);
    let connectionIds: string[] | undefined;
    if (q.connectionId) {
      // The super-admin may list a deleted connection's dead letters; a tenant only its own connection's.
      if (caller.kind === 'tenant') await connectionInScope(caller, q.connectionId);
      connectionIds = [q.connectionId];
    } else if (caller.kind === 'tenant') {
      connectionIds = (await deps.connections.list(scopeOf(caller))).map((c) => c.id);
    }
    const letters = await deps.deadLetters.list({ connectionIds, direction: q.direction, limit: q.limit });
    res.json({ deadLetters: letters.map(view) });
  });

  router.get('/dead-letters/:id', async (req, res) => {
    const { letter } = await letterInScope(callerOf(res), req.params.id as string);
    const work = letter.replayable ? await deps.deadLetters.payloadOf<LanePayload>(letter.id) : undefined;
    res.json({ ...view(letter), ...(work ? { work: describeWork(work) } : {}) });
  });

  router.post('/dead-letters/:id/replay', async (req, res) => {
    const caller = callerOf(res);
    const found = await letterInScope(caller, req.params.id as string);
    const outcome = await replayOne(caller, found);
    res.json({ id: found.letter.id, outcome });
  });

  /** A connection's dead letters, oldest first (so each lane gets them back in their old order), up to `limit`. */
  router.post('/dead-letters/replay', async (req, res) => {
    const { value, error } = bulkReplayBody.validate(req.body ?? {}, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid bulk replay', error.details.map((d) => d.message));
    const body = value as { connectionId: string; limit: number };
    const caller = callerOf(res);
    const conn = await connectionInScope(caller, body.connectionId);
    const letters = await deps.deadLetters.list({ connectionIds: [conn.id], oldestFirst: true, limit: body.limit });
    const replayed: Array<{ id: string; outcome: ReplayOutcome }> = [];
    const refused: Array<{ id: string; reason: string }> = [];
    for (const letter of letters) {
      try {
        replayed.push({ id: letter.id, outcome: await replayOne(caller, { letter, conn }) });
      } catch (err) {
        // A refusal concerns one letter; Redis being away stops the run (what was replayed so far stays replayed).
        if (err instanceof HttpError && err.code === 'conflict') refused.push({ id: letter.id, reason: err.message });
        else throw err;
      }
    }
    res.json({ replayed, refused });
  });

  router.delete('/dead-letters/:id', async (req, res) => {
    const caller = callerOf(res);
    const { letter, conn } = await letterInScope(caller, req.params.id as string);
    if (!(await deps.deadLetters.remove(letter.id))) throw new HttpError('not_found', 'no such dead letter');
    deps.metrics.deadLettersResolved.inc({ direction: letter.direction, action: 'discarded' });
    await deps.audit.record({ tenantId: conn?.tenantId ?? tenantOf(caller), actor: actorOf(caller), action: 'dead_letter.discard',
      target: { type: 'dead_letter', id: letter.id }, details: { connectionId: letter.connectionId, direction: letter.direction, kind: letter.kind } });
    res.status(204).end();
  });
  return router;

  async function replayOne(caller: Caller, { letter, conn }: { letter: DeadLetter; conn: ConnectionRecord | null }): Promise<ReplayOutcome> {
    let outcome: ReplayOutcome;
    try {
      outcome = await deps.replayer.replay(letter);
    } catch (err) {
      if (err instanceof ReplayRefused) throw new HttpError('conflict', err.message);
      if (err instanceof QueueUnavailable) throw new HttpError('queue_unavailable', 'the queue is unavailable; try again later');
      throw err;
    }
    deps.metrics.deadLettersResolved.inc({ direction: letter.direction, action: 'replayed' });
    await deps.audit.record({ tenantId: conn?.tenantId ?? tenantOf(caller), actor: actorOf(caller), action: 'dead_letter.replay',
      target: { type: 'dead_letter', id: letter.id }, details: { connectionId: letter.connectionId, direction: letter.direction, kind: letter.kind, outcome } });
    return outcome;
  }

  async function connectionInScope(caller: Caller, connectionId: string): Promise<ConnectionRecord> {
    const conn = await deps.connections.findById(connectionId, scopeOf(caller));
    if (!conn) throw new HttpError('not_found', 'no such connection');
    return conn;
  }

  /** Another tenant's dead letter is not found, exactly like one that does not exist. */
  async function letterInScope(caller: Caller, id: string): Promise<{ letter: DeadLetter; conn: ConnectionRecord | null }> {
    const letter = await deps.deadLetters.get(id);
    const conn = letter ? await deps.connections.findById(letter.connectionId, scopeOf(caller)) : null;
    if (!letter || (!conn && caller.kind !== 'super')) throw new HttpError('not_found', 'no such dead letter');
    return { letter, conn };
  }
}

function tenantOf(caller: Caller): string | null {
  return caller.kind === 'tenant' ? caller.tenant.id : null;
}
