/**
 * A static file server on 127.0.0.1 for ADD <url> cases: both docker's BuildKit (in dockerd, on
 * the host network) and tzbuild fetch from it. Fixed Last-Modified, so both see the same file.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

const LAST_MODIFIED = new Date('2024-01-01T00:00:00Z').toUTCString();

export async function serveDirectory(root: string): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const rel = path.posix.normalize(decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/'));
    const file = path.join(root, rel);
    // Only files under root, and only below a `served/` directory of a case.
    if (!file.startsWith(`${root}${path.sep}`) || !rel.includes('/served/')) {
      response.writeHead(404).end();
      return;
    }
    stat(file)
      .then((info) => {
        if (!info.isFile()) throw new Error('not a file');
        response.writeHead(200, {
          'content-length': info.size,
          'last-modified': LAST_MODIFIED,
          'content-type': 'application/octet-stream',
        });
        if (request.method === 'HEAD') response.end();
        else createReadStream(file).pipe(response);
      })
      .catch(() => response.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
