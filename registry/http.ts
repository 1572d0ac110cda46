/**
 * One HTTP exchange with a registry over node:http(s), with what a hostile or broken server needs:
 * an idle timeout on the connection (headers and body), a size cap on bodies read into memory,
 * and bounded retries with backoff for transient failures. No auth and no redirects here: the
 * client decides those (it must drop credentials when a redirect leaves the registry).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { tlsTrust } from '../sys/tls-trust.js';
import { RegistryError } from './errors.js';

/** A request body: bytes (replayable) or a factory giving a fresh stream for each attempt. */
export type RequestBody = Buffer | { length: number; open: () => Readable };

/** One request. `label` names the object in errors ("registry 127.0.0.1:5000: blob sha256:…"). */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  label: string;
}

/** A response whose body has not been read yet (read it, or `drain` it). */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

/** Timeouts and retry policy of a transport. */
export interface TransportOptions {
  /** Milliseconds without any byte moving before a request is abandoned (default 30 s). */
  idleTimeoutMs?: number;
  /** Attempts per request, including the first (default 4). */
  attempts?: number;
  /** First backoff delay; doubles per attempt, with jitter (default 250 ms). */
  retryDelayMs?: number;
}

const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
]);

/** Keep-alive agents (their idle sockets do not hold the process open) and the policy. */
export class Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, ...tlsTrust() });
  readonly idleTimeoutMs: number;
  readonly attempts: number;
  readonly retryDelayMs: number;

  constructor(options: TransportOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  /** Sends once; resolves when the response headers arrived. Network failures become RegistryError. */
  send(request: HttpRequest): Promise<HttpResponse> {
    const { url } = request;
    const lib = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    const headers: Record<string, string> = { 'User-Agent': 'tzbuild/0.1', ...request.headers };
    const body = request.body;
    if (body !== undefined) headers['Content-Length'] = String(Buffer.isBuffer(body) ? body.length : body.length);
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = lib.request(url, { method: request.method, headers, agent });
      req.setTimeout(this.idleTimeoutMs, () => {
        if (response?.complete) return;
        const error = new RegistryError(
          `${request.label}: no data for ${this.idleTimeoutMs / 1000}s, giving up`,
          'REGISTRY_TIMEOUT',
          { retryable: true },
        );
        req.destroy(error);
        response?.destroy(error);
      });
      req.on('error', (err) => {
        if (response !== undefined) return;
        reject(err instanceof RegistryError ? err : networkError(request.label, err));
      });
      req.on('response', (res) => {
        response = res;
        res.on('error', () => undefined); // consumers see errors through their own reads
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const stream = body.open();
        stream.on('error', (err) => req.destroy(err));
        stream.pipe(req);
      }
    });
  }

  /** Runs `attempt` until it succeeds, fails for good, or the attempts are used up. */
  async retry<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof RegistryError) || !err.retryable || n >= this.attempts) throw err;
        const delay = this.retryDelayMs * 2 ** (n - 1);
        await sleep(delay / 2 + Math.random() * delay);
      }
    }
  }

  /** Closes idle connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function networkError(label: string, err: unknown): RegistryError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  return new RegistryError(`${label}: ${message}`, 'REGISTRY_CONNECTION', {
    cause: err,
    retryable: transientCodes.has(code) || /socket hang up|aborted/i.test(message),
  });
}

/** Reads a whole body, refusing more than `maxBytes`; errors name `label`. */
export async function readBody(res: HttpResponse, maxBytes: number, label: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    res.body.destroy();
    throw new RegistryError(`${label}: ${declared} bytes is over the ${maxBytes}-byte limit`, 'REGISTRY_TOO_LARGE');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        res.body.destroy();
        throw new RegistryError(`${label}: body is over the ${maxBytes}-byte limit`, 'REGISTRY_TOO_LARGE');
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw asBodyError(err, label);
  }
  if (!res.body.complete)
    throw new RegistryError(`${label}: connection closed before the body ended`, 'REGISTRY_CONNECTION', {
      retryable: true,
    });
  return Buffer.concat(chunks);
}

/** Normalises an error raised while a body streamed (resets, aborts) into a RegistryError. */
export function asBodyError(err: unknown, label: string): unknown {
  if (
    err instanceof RegistryError ||
    (err instanceof Error &&
      'code' in err &&
      typeof err.code === 'string' &&
      !transientCodes.has(err.code) &&
      err.code !== 'ERR_STREAM_PREMATURE_CLOSE')
  )
    return err;
  return new RegistryError(`${label}: connection broke while reading the body`, 'REGISTRY_CONNECTION', {
    cause: err,
    retryable: true,
  });
}

/** Reads and discards a (small) body so the connection can be reused; never throws. */
export async function drain(res: HttpResponse): Promise<void> {
  try {
    await readBody(res, 1024 * 1024, 'drain');
  } catch {
    res.body.destroy();
  }
}

/** A short, credential-free description of an unexpected status, with the registry's error text. */
export async function statusError(res: HttpResponse, label: string): Promise<RegistryError> {
  let detail = '';
  try {
    const text = (await readBody(res, 64 * 1024, label)).toString('utf8');
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    detail = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // No JSON error body: the status says enough.
  }
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  return new RegistryError(
    `${label}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`,
    `REGISTRY_HTTP_${res.status}`,
    { retryable },
  );
}
