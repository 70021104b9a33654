/**
 * What both fakes (Graph, Chatwoot) share: a loopback server on a random port whose sockets can be cut
 * ("down"), a request log, one-shot failure injection by path, and multipart parsing with busboy.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { Express, Request } from 'express';
import busboy from 'busboy';

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON, a multipart summary, or undefined when there was no body (or it never got parsed). */
  body: unknown;
  at: number;
}

export interface UploadedFile {
  field: string;
  filename: string;
  mimeType: string;
  bytes: Buffer;
}

export interface ParsedMultipart {
  /** Every value of every non-file field, in arrival order. */
  fields: Record<string, string[]>;
  files: UploadedFile[];
}

export interface MultipartSummary {
  fields: Record<string, string | string[]>;
  files: Array<{ field: string; filename: string; mimeType: string; size: number; sha256: string }>;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isMultipart(req: Request): boolean {
  return /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');
}

export function parseMultipart(req: Request, limits: { fileSize?: number; files?: number } = {}): Promise<ParsedMultipart> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string[]> = {};
    const files: UploadedFile[] = [];
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: limits.fileSize ?? 200 * 1024 * 1024, files: limits.files ?? 1000 } });
    } catch (err) {
      reject(Object.assign(new Error(`bad multipart request: ${(err as Error).message}`), { status: 400 }));
      return;
    }
    bb.on('field', (name, value) => {
      (fields[name] ??= []).push(value);
    });
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        files.push({ field, filename: info.filename ?? '', mimeType: info.mimeType || 'application/octet-stream', bytes: Buffer.concat(chunks) });
      });
    });
    bb.on('error', (err) => reject(Object.assign(err as Error, { status: 400 })));
    bb.on('close', () => resolve({ fields, files }));
    req.pipe(bb);
  });
}

export function summarizeMultipart(parsed: ParsedMultipart): MultipartSummary {
  const fields: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(parsed.fields)) fields[k] = v.length === 1 ? v[0]! : v;
  return {
    fields,
    files: parsed.files.map((f) => ({ field: f.field, filename: f.filename, mimeType: f.mimeType, size: f.bytes.length, sha256: sha256Hex(f.bytes) })),
  };
}

/** One-shot responses for requests whose path matches, consumed in the order they were added. */
export class FailureQueue<R> {
  private rules: Array<{ path: RegExp; remaining: number; response: R }> = [];

  add(path: RegExp, times: number, response: R): void {
    if (times > 0) this.rules.push({ path, remaining: times, response });
  }

  take(path: string): R | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && r.path.test(path));
    if (!rule) return undefined;
    // A /g or /y regex keeps lastIndex between calls; tests would see every other request match.
    rule.path.lastIndex = 0;
    rule.remaining -= 1;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return rule.response;
  }

  clear(): void {
    this.rules = [];
  }
}

export function newLogEntry(req: Request): LoggedRequest {
  return { method: req.method, path: req.path, query: { ...(req.query as Record<string, unknown>) }, headers: { ...req.headers }, body: undefined, at: Date.now() };
}

export interface FakeServer {
  url: string;
  port: number;
  /** While down, every connection (open or new) is destroyed at once: clients see ECONNRESET / "socket hang up". */
  setReset(down: boolean): void;
  close(): Promise<void>;
}

export async function listen(app: Express): Promise<FakeServer> {
  const server = http.createServer(app);
  const sockets = new Set<Socket>();
  let resetting = false;
  server.on('connection', (socket) => {
    if (resetting) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setReset(down) {
      resetting = down;
      if (down) for (const s of sockets) s.destroy();
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
