/**
 * ADD <url>: the file is downloaded (streamed to a temp file while hashed), checked against
 * --checksum when given, and copied with mode 0600 and the server's Last-Modified time, as Docker
 * does. Its bytes are part of the cache key, so a changed download re-runs the step.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../core/errors.js';
import { tlsTrust } from '../../sys/tls-trust.js';
import type { StepContext } from '../session.js';

export interface Download {
  url: string;
  /** Temp file holding the bytes (removed by `removeDownloads`). */
  path: string;
  digest: string;
  size: number;
  /** Name the file gets in a destination directory: the URL path's last segment. */
  fileName: string;
  mtime: number;
}

/** Fails a download that sends nothing for this long, rather than hanging the build. */
const stallTimeoutMs = 60_000;
/** As many as fetch follows. */
const maxRedirects = 20;

export async function downloadAll(urls: string[], ctx: StepContext, checksum: string | undefined): Promise<Download[]> {
  if (checksum !== undefined && urls.length !== 1)
    throw new UserError('ADD --checksum needs exactly one URL source', 'ADD_CHECKSUM');
  const dir = await mkdtemp(join(ctx.deps.tmpDir, 'url-'));
  ctx.cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const downloads: Download[] = [];
  for (const [index, url] of urls.entries()) {
    const download = await fetchToFile(url, join(dir, String(index)), ctx.options.signal);
    if (checksum !== undefined && checksum !== download.digest) {
      throw new UserError(`ADD ${url}: digest mismatch: expected ${checksum}, got ${download.digest}`, 'ADD_CHECKSUM');
    }
    downloads.push(download);
  }
  return downloads;
}

async function fetchToFile(url: string, path: string, signal: AbortSignal | undefined): Promise<Download> {
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  let timer = setTimeout(() => controller.abort(new Error('download stalled')), stallTimeoutMs);
  try {
    const response = await get(new URL(url), controller.signal);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new Error('download stalled')), stallTimeoutMs);
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(response, meter, createWriteStream(path, { mode: 0o600 }));
    const modified = Date.parse(response.headers['last-modified'] ?? '');
    return {
      url,
      path,
      size,
      digest: `sha256:${hash.digest('hex')}`,
      fileName: posix.basename(new URL(url).pathname) || 'index.html',
      mtime: Number.isNaN(modified) ? 0 : Math.floor(modified / 1000),
    };
  } catch (error) {
    throw new UserError(`ADD ${url}: download failed: ${(error as Error).message}`, 'ADD_URL');
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET with node:http(s), following redirects; resolves with the final 2xx response. Not fetch:
 * its TLS cannot be given the certificates bin/tzbuild hands over (tls-trust.ts).
 */
async function get(url: URL, signal: AbortSignal, redirects = 0): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
  // Loaded here: most builds download nothing.
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = client.get(
      url,
      { signal, headers: { 'User-Agent': 'tzbuild/0.1' }, ...(url.protocol === 'https:' ? tlsTrust() : {}) },
      resolve,
    );
    request.on('error', reject);
  });
  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  if (status >= 300 && status < 400 && location !== undefined) {
    response.resume();
    if (redirects >= maxRedirects) throw new Error('too many redirects');
    return get(new URL(location, url), signal, redirects + 1);
  }
  if (status < 200 || status >= 300) {
    response.resume();
    throw new Error(`HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd());
  }
  return response;
}
