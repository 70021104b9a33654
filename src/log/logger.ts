/**
 * winston JSON logs. One root logger per process, child loggers per module (`component`) and per request or job
 * (`requestId`, `jobId`). All metadata and the message itself go through redact() before they are written.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import { redact, maskPhonesIn } from './redact';

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
  return winston.createLogger({
    level: opts.level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), redactFormat(), winston.format.json()),
    transports: [transport],
  });
}
