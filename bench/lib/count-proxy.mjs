// A counting HTTP proxy for the shared-cache benchmark: forwards 127.0.0.1:LISTEN to
// 127.0.0.1:TARGET (a registry) and keeps the bytes of request and response bodies in COUNTS_FILE
// as JSON {"requests", "up", "down"}, rewritten (temp + rename) after every response; each
// request is also logged to COUNTS_FILE.log as "METHOD PATH STATUS BYTES_DOWN".
//   node count-proxy.mjs LISTEN_PORT TARGET_PORT COUNTS_FILE
import http from 'node:http';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';

const [listenPort, targetPort, countsFile] = process.argv.slice(2);
const counts = { requests: 0, up: 0, down: 0 };

function save() {
  writeFileSync(`${countsFile}.tmp`, JSON.stringify(counts));
  renameSync(`${countsFile}.tmp`, countsFile);
}

const server = http.createServer((req, res) => {
  counts.requests++;
  const upstream = http.request(
    { host: '127.0.0.1', port: Number(targetPort), method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk) => {
        counts.down += chunk.length;
      });
      let down = 0;
      answer.on('data', (chunk) => {
        down += chunk.length;
      });
      answer.pipe(res);
      answer.on('end', () => {
        appendFileSync(`${countsFile}.log`, `${req.method} ${req.url} ${answer.statusCode} ${down}\n`);
        save();
      });
    },
  );
  upstream.on('error', () => res.destroy());
  req.on('data', (chunk) => {
    counts.up += chunk.length;
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(listenPort), '127.0.0.1', save);
