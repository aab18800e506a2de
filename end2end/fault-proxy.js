// A pass-through HTTP proxy in front of an S3 endpoint. For the Playwright suite the app
// presigns URLs naming this proxy (NEXUS_LOCAL_S3_PUBLIC_URL), and a test can make the next N
// part uploads fail — the first by cutting the connection mid-part, the rest by answering
// 500 — to prove the uploader retries. For the server's own S3 calls (the storage fault
// suite, the server's S3_ENDPOINT naming this proxy) `on=any` fails the next N requests of
// any kind, as `kind=503` (SlowDown), `500` (InternalError), `cut` (connection closed) or
// `slow` (passed on, its answer held back `delay_ms` milliseconds first).
// `after=N` lets N matching requests through before the faults start.
// Control: POST /__faults?fail=N[&on=parts|any][&kind=alternate|503|500|cut|slow][&delay_ms=N][&after=N];
// GET /__faults answers {"pending": n, "injected": n, "part_puts": n, "requests": n}.
// Usage: node fault-proxy.js <listen port> <target port>
const http = require('http');

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
let pending = 0;
let injected = 0;
let partPuts = 0;
let requests = 0;
let on = 'parts';
let kind = 'alternate';
let delayMs = 0;
let after = 0;

function cors(req, res) {
  if (req.headers.origin) {
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
    res.setHeader('Access-Control-Expose-Headers', 'ETag');
  }
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/__faults')) {
    const q = new URL(req.url, 'http://x').searchParams;
    if (req.method === 'POST' && q.get('fail') !== null) {
      pending = Number(q.get('fail'));
      on = q.get('on') || 'parts';
      kind = q.get('kind') || 'alternate';
      delayMs = Number(q.get('delay_ms') || 0);
      after = Number(q.get('after') || 0);
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pending, injected, part_puts: partPuts, requests }));
    return;
  }
  requests += 1;
  const isPart = req.method === 'PUT' && /[?&]partNumber=/.test(req.url);
  if (isPart) partPuts += 1;
  let faulty = (isPart || on === 'any') && pending > 0;
  if (faulty && after > 0) {
    after -= 1; // this one goes through
    faulty = false;
  }
  if (faulty && kind !== 'slow') {
    pending -= 1;
    injected += 1;
    if (kind === '503' || kind === '500') {
      req.resume();
      req.on('end', () => {
        const [code, text] = kind === '503' ? ['SlowDown', 'Please reduce your request rate.'] : ['InternalError', 'injected'];
        res.writeHead(Number(kind), { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>${text}</Message></Error>`);
      });
      return;
    }
    if (kind === 'cut') {
      req.resume();
      req.on('end', () => req.socket.destroy());
      return;
    }
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
  let hold = 0;
  if (faulty && kind === 'slow') {
    pending -= 1;
    injected += 1;
    hold = delayMs;
  }
  const upstream = http.request(
    { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      setTimeout(() => {
        if (res.destroyed) return up.resume();
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      }, hold);
    },
  );
  upstream.on('error', () => req.socket.destroy());
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(listenPort, '127.0.0.1');
