/**
 * Which request or job a log line belongs to, without passing ids down every call. The HTTP edge opens a
 * context per request (request-id.ts), a queue worker one per job (pipeline.ts); the logger stamps every line
 * written inside it (logger.ts), however deep the code that writes it. AsyncLocalStorage follows awaits, timers
 * and the body parsers' callbacks (raw-body binds them to the request's async context).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  requestId?: string;
  jobId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs fn inside a context; ids of an enclosing context are kept unless given again. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}
