/**
 * winston JSON logs. One root logger per process, child loggers per module (`component`) and per request or job
 * (`requestId`, `jobId`). All metadata and the message itself go through redact() before they are written.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import { redact, maskPhonesIn } from './redact';
import { currentLogContext } from './context';

export type Logger = winston.Logger;

const redactFormat = winston.format((info) => {
  const redacted = redact({ ...info }) as Record<string, unknown>;
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    (info as Record<string, unknown>)[key] = redacted[key];
  }
  if (typeof info.message === 'string') info.message = maskPhonesIn(info.message);
  return info;
});

export function createLogger(opts: { level: string; stream?: Writable }): Logger {
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console();
  const logger = winston.createLogger({
    level: opts.level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), redactFormat(), winston.format.json()),
    transports: [transport],
  });
  stampContextOnWrite(logger);
  return logger;
}

/**
 * Every line gets the request or job id of the context it was written in (context.ts); an id given on the line
 * wins. Stamped in write(), which the root logger and all its children call synchronously from the log call:
 * formats may run later, when a slow transport holds the stream back, and by then the context is another's.
 */
function stampContextOnWrite(logger: winston.Logger): void {
  const write = logger.write.bind(logger) as (info: unknown, ...rest: unknown[]) => boolean;
  const stamped = (info: unknown, ...rest: unknown[]): boolean => {
    const context = currentLogContext();
    if (context && info && typeof info === 'object') {
      const line = info as Record<string, unknown>;
      if (context.requestId !== undefined) line.requestId ??= context.requestId;
      if (context.jobId !== undefined) line.jobId ??= context.jobId;
    }
    return write(info, ...rest);
  };
  (logger as unknown as { write: typeof stamped }).write = stamped;
}
