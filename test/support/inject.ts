/**
 * Sends a request into an express app in process, without a socket: a real http.IncomingMessage carrying the
 * body as its stream, a real http.ServerResponse whose output is captured. The app runs exactly as it would
 * (middleware, body parsers with their limits, routers, the error middleware); only the network and the HTTP
 * parser are left out, which makes a request cost a fraction of a loopback round trip: what lets a fuzzer send
 * tens of thousands of them within its CPU budget.
 */
import http from 'node:http';
import { Duplex } from 'node:stream';
import type { Express } from 'express';

export interface InjectedAnswer {
  status: number;
  headers: http.OutgoingHttpHeaders;
  /** The body, parsed when it is JSON, else as text. */
  body: unknown;
}

/** A socket that goes nowhere: what the response writes to it is dropped (the body is captured on the way). */
function nullSocket(): Duplex {
  const socket = new Duplex({ read() { /* nothing arrives */ }, write(_chunk, _enc, done) { done(); } });
  return Object.assign(socket, { remoteAddress: '127.0.0.1', remotePort: 40000, encrypted: false, setTimeout: () => socket, setNoDelay: () => socket, setKeepAlive: () => socket });
}

export function inject(app: Express, request: { method: string; path: string; headers?: Record<string, string>; body?: Buffer }): Promise<InjectedAnswer> {
  return new Promise((resolve, reject) => {
    const socket = nullSocket();
    const req = new http.IncomingMessage(socket as never);
    const body = request.body ?? Buffer.alloc(0);
    req.method = request.method;
    req.url = request.path;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = { host: 'bridge.test', 'content-length': String(body.length), ...lowerCased(request.headers ?? {}) };
    req.rawHeaders = Object.entries(req.headers).flatMap(([k, v]) => [k, String(v)]);
    if (body.length > 0) req.push(body);
    req.push(null);

    const res = new http.ServerResponse(req);
    res.assignSocket(socket as never);
    const chunks: Buffer[] = [];
    // The answer is complete when the app ends the response: taken from there, not from 'finish', which depends on
    // the (absent) socket flushing and never comes when Node tears the socket down early (an error answered before
    // the body was consumed).
    const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
    res.end = ((...args: unknown[]) => {
      const chunk = args[0];
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) chunks.push(Buffer.from(chunk as string));
      const result = end(...args);
      done();
      return result;
    }) as typeof res.end;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      const chunk = args[0];
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) chunks.push(Buffer.from(chunk as string));
      return write(...args);
    }) as typeof res.write;
    let answered = false;
    const done = () => {
      if (answered) return;
      answered = true;
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = text;
      try { parsed = JSON.parse(text); } catch { /* a plain-text answer */ }
      resolve({ status: res.statusCode, headers: res.getHeaders(), body: parsed });
    };
    res.on('error', reject);
    (app as unknown as (req: http.IncomingMessage, res: http.ServerResponse) => void)(req, res);
  });
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
