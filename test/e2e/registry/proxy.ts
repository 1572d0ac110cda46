/**
 * A small HTTP proxy in front of a test registry, to count what the client sends and to make the
 * registry misbehave: a hook sees every request first and may answer it itself (corrupt a blob,
 * cut the connection, stall, redirect, demand a token) or let it through with `forward()`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';

/** One request as the proxy saw it. */
export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** What a hook gets: the request and a way to pass it to the registry. */
export interface HookContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Sends the request on (body streamed) and resolves with the registry's response, unread. */
  forward(headers?: http.OutgoingHttpHeaders): Promise<IncomingMessage>;
}

/** Answers a request itself (true) or leaves it to the default pass-through (false). */
export type ProxyHook = (context: HookContext) => Promise<boolean> | boolean;

/** A running proxy. */
export interface TestProxy {
  /** `127.0.0.1:PORT`, to use as the registry name. */
  host: string;
  port: number;
  requests: LoggedRequest[];
  /** Replaces the hook (undefined: pass everything through). */
  setHook(hook: ProxyHook | undefined): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`127.0.0.1:PORT`). */
export async function startProxy(target: string, hook?: ProxyHook): Promise<TestProxy> {
  const [targetHost = '127.0.0.1', targetPort = '80'] = target.split(':');
  let current = hook;
  const requests: LoggedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const forward = (headers: http.OutgoingHttpHeaders = req.headers) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const upstream = http.request(
          { host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers },
          resolve,
        );
        upstream.on('error', reject);
        req.pipe(upstream);
      });
    const passThrough = async () => {
      const upstream = await forward();
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.pipe(res);
    };
    Promise.resolve(current?.({ req, res, forward }) ?? false)
      .then((handled) => (handled ? undefined : passThrough()))
      .catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    setHook: (next) => {
      current = next;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads a whole response body. */
export async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The blob digest of a `GET /v2/…/blobs/sha256:…` request, else undefined. */
export function blobGetDigest(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return undefined;
  return /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '')?.[1];
}

/** Requests that move blob bytes or start uploads (what a no-op push must not send). */
export function uploadRequests(requests: LoggedRequest[]): LoggedRequest[] {
  return requests.filter(
    (r) => (r.method === 'POST' || r.method === 'PATCH' || r.method === 'PUT') && r.url.includes('/blobs/uploads/'),
  );
}
