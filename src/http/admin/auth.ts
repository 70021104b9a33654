/**
 * Who is calling the admin API. `Authorization: Bearer <key>` is either the super-admin key from the
 * environment (every tenant) or one tenant's key (that tenant only). Every admin route reads the caller with
 * `callerOf(res)` and passes `scopeOf(caller)` to its queries.
 *
 * Failed keys are counted per client address in Redis, so the limit holds across every web replica: after
 * `maxFailures` within the window the address gets 429 (even with a right key) until the window passes. Guessing
 * a 256-bit key is hopeless anyway; the limit keeps scanners from filling logs and burning CPU.
 */
import type { Request, RequestHandler, Response } from 'express';
import type Redis from 'ioredis';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from '../errors';
import { ALL_TENANTS, type TenantScope } from '../../store/connections';
import type { TenantRecord } from '../../store/tenants';

export type Caller =
  | { kind: 'super' }
  | { kind: 'tenant'; tenant: TenantRecord };

export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new Error('admin route mounted without requireAdminCaller');
  return caller;
}

export function scopeOf(caller: Caller): TenantScope {
  return caller.kind === 'super' ? ALL_TENANTS : { tenantId: caller.tenant.id };
}

/** Actor name for audit events: never the key, only who it belongs to. */
export function actorOf(caller: Caller): string {
  return caller.kind === 'super' ? 'super-admin' : `tenant:${caller.tenant.id}`;
}

/** Routes only the super-admin may use (tenant management). A tenant gets 404, as for anything not theirs. */
export const superAdminOnly: RequestHandler = (_req, res, next) => {
  if (callerOf(res).kind !== 'super') throw new HttpError('not_found', 'no such route');
  next();
};

export interface FailedKeyLimit {
  maxFailures: number;
  windowS: number;
}

/** Counts failed admin keys per client address in Redis (INCR + EXPIRE: one window per address). */
export class FailedKeyCounter {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly limit: FailedKeyLimit) {}

  private key(address: string): string {
    return `${this.prefix}:admin-auth-failures:${address}`;
  }

  /** Seconds until the address may try again, or 0 when it may try now. */
  async blockedForS(address: string): Promise<number> {
    const [count, ttl] = await Promise.all([this.redis.get(this.key(address)), this.redis.ttl(this.key(address))]);
    return Number(count ?? 0) >= this.limit.maxFailures ? Math.max(ttl, 1) : 0;
  }

  async recordFailure(address: string): Promise<void> {
    const key = this.key(address);
    const [[, count]] = (await this.redis.multi().incr(key).ttl(key).exec()) as [[null, number], [null, number]];
    if (count === 1) await this.redis.expire(key, this.limit.windowS);
  }
}

export interface AdminAuthDeps {
  superAdminKey: string;
  tenantByApiKey(apiKey: string): Promise<TenantRecord | null>;
  failures: FailedKeyCounter;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function bearerOf(req: Request): string {
  const header = req.get('authorization') ?? '';
  return header.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

export function requireAdminCaller(deps: AdminAuthDeps): RequestHandler {
  // Digests are compared so neither the length nor the content of the super key leaks through timing.
  const superDigest = digest(deps.superAdminKey);
  return async (req, res, next) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const blockedS = await deps.failures.blockedForS(address);
    if (blockedS > 0) {
      const err = new HttpError('too_many_requests', 'too many failed admin keys from this address; try again later');
      err.retryAfterS = blockedS;
      throw err;
    }
    const given = bearerOf(req);
    if (given && timingSafeEqual(superDigest, digest(given))) {
      res.locals.caller = { kind: 'super' } satisfies Caller;
      return next();
    }
    const tenant = given.startsWith('tk_') ? await deps.tenantByApiKey(given) : null;
    if (tenant) {
      res.locals.caller = { kind: 'tenant', tenant } satisfies Caller;
      return next();
    }
    await deps.failures.recordFailure(address);
    throw new HttpError('unauthorized', 'missing or wrong admin API key');
  };
}
