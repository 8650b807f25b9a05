import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { startTestEngineWithBusybox, type TestEngine } from '../e2e/engine-harness.ts';

export interface EngineAnswer {
  status: number;
  body: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** One request to the engine's socket; `body` is sent as JSON unless it is already a string or a Buffer (raw bytes). */
export function engineRequest(socket: string, method: string, path: string, body?: unknown): Promise<EngineAnswer> {
  return new Promise((resolve, reject) => {
    const raw = typeof body === 'string' || Buffer.isBuffer(body);
    const headers = body === undefined ? {} : { 'content-type': Buffer.isBuffer(body) ? 'application/x-tar' : 'application/json' };
    const req = request({ socketPath: socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : raw ? body : JSON.stringify(body));
  });
}

/**
 * An in-process engine on a temp root with a busybox image imported as `busybox` (no runc needed: these tests
 * create containers but never start them).
 */
export function startEngineWithBusybox(): Promise<TestEngine> {
  return startTestEngineWithBusybox();
}

/**
 * POSTs the file at `file` to the engine as a raw body (an archive), streamed. An answer that comes before the
 * whole body is sent (a refusal) is the answer: the engine may close the connection on what is left.
 */
export function engineUpload(socket: string, path: string, file: string): Promise<EngineAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ socketPath: socket, method: 'POST', path, headers: { 'content-type': 'application/x-tar' } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    pipeline(createReadStream(file), req).catch((err: unknown) => answered || reject(err));
  });
}
