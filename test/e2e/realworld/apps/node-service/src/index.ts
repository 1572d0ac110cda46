import { createServer } from 'node:http';
import ms from 'ms';

const started = Date.now();
const port = Number(process.env.PORT ?? 3000);

createServer((_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ status: 'ok', uptime: ms(Date.now() - started) }));
}).listen(port, () => console.log(`listening on ${port}`));
