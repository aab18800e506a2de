// A pass-through HTTP proxy in front of the embedded S3 endpoint, for the Playwright suite:
// the app presigns URLs naming this proxy (NEXUS_LOCAL_S3_PUBLIC_URL), and a test can make
// the next N part uploads fail — the first by cutting the connection mid-part, the rest by
// answering 500 — to prove the uploader retries. Control: POST /__faults?fail=N;
// GET /__faults answers {"pending": n, "injected": n, "part_puts": n}.
// Usage: node fault-proxy.js <listen port> <target port>
const http = require('http');

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
let pending = 0;
let injected = 0;
let partPuts = 0;

function cors(req, res) {
  if (req.headers.origin) {
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
    res.setHeader('Access-Control-Expose-Headers', 'ETag');
  }
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/__faults')) {
    const fail = new URL(req.url, 'http://x').searchParams.get('fail');
    if (req.method === 'POST' && fail !== null) pending = Number(fail);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pending, injected, part_puts: partPuts }));
    return;
  }
  const isPart = req.method === 'PUT' && /[?&]partNumber=/.test(req.url);
  if (isPart) partPuts += 1;
  if (isPart && pending > 0) {
    pending -= 1;
    injected += 1;
    if (injected % 2 === 1) {
      // Cut the connection once some bytes of the part have arrived.
      let seen = 0;
      req.on('data', (chunk) => {
        seen += chunk.length;
        if (seen > 256 * 1024) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
    } else {
      req.resume();
      req.on('end', () => {
        cors(req, res);
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected</Message></Error>');
      });
    }
    return;
  }
  const upstream = http.request(
    { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', () => req.socket.destroy());
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(listenPort, '127.0.0.1');
