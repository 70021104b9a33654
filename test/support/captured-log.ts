/** A logger whose lines a unit test reads back, parsed (the real logger, writing JSON to a stream in memory). */
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger';

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export function capturedLog(): { log: Logger; lines: LogLine[] } {
  const stream = new PassThrough();
  const lines: LogLine[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
  });
  return { log: createLogger({ level: 'info', stream }), lines };
}
