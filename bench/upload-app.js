// One app upload in headless Chromium, for bench/upload: signs up, uploads FILE through the
// page, and prints JSON: seconds (first start_upload sent → complete_upload answered), of
// which parts_seconds until the last part was stored and complete_seconds for completing,
// bytes the page sent to the app server, the page's peak JS heap.
//
// Chromium is driven over the raw DevTools protocol (a pipe, as Playwright does) with only
// the Page, DOM and Runtime domains: Playwright turns on the Network domain for every page,
// and Chromium then copies each request body — here every 8 MiB part — to the driver, which
// costs more than the upload itself (it capped this benchmark at ~14 MB/s).
// Usage: node upload-app.js <app url> <file>
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [base, file] = process.argv.slice(2);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'nexus-bench-chromium-'));
const chrome = spawn('/usr/bin/chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-precise-memory-info', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank',
], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
const toChrome = chrome.stdio[3];
const fromChrome = chrome.stdio[4];

let nextId = 1;
const waiting = new Map();
let buf = Buffer.alloc(0);
fromChrome.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  let i;
  while ((i = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, i).toString());
    buf = buf.subarray(i + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { ok, fail } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) fail(new Error(JSON.stringify(msg.error))); else ok(msg.result);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  return new Promise((ok, fail) => {
    waiting.set(id, { ok, fail });
    toChrome.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const s = (m, p) => send(m, p, sessionId);
  const evaluate = async (expression) => {
    const r = await s('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  };
  const until = async (expression, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await evaluate(expression)) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${expression}`);
  };
  await s('Page.enable');
  await s('Runtime.enable');
  // Count the bytes every same-origin request carries (method, URL, headers the page sets, body).
  await s('Page.addScriptToEvaluateOnNewDocument', { source: `
    window.__appBytes = 0;
    // Every part is a resource entry; the default buffer (250) would drop complete_upload's.
    performance.setResourceTimingBufferSize(1000000);
    const count = (url, method, body) => {
      try { if (new URL(url, location.href).origin !== location.origin) return; } catch (e) { return; }
      let n = method.length + String(url).length + 12;
      if (typeof body === 'string') n += new TextEncoder().encode(body).length;
      else if (body && body.byteLength !== undefined) n += body.byteLength;
      else if (body && body.size !== undefined) n += body.size;
      else if (body instanceof URLSearchParams) n += body.toString().length;
      window.__appBytes += n;
    };
    const f = window.fetch;
    window.fetch = function (input, init) {
      count(typeof input === 'string' ? input : input.url, (init && init.method) || 'GET', init && init.body);
      return f.apply(this, arguments);
    };
    const open = XMLHttpRequest.prototype.open, xsend = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (m, u) { this.__m = m; this.__u = u; return open.apply(this, arguments); };
    XMLHttpRequest.prototype.send = function (b) { count(this.__u, this.__m, b); return xsend.apply(this, arguments); };
  ` });

  await s('Page.navigate', { url: `${base}/sign-up` });
  await until(`!!document.querySelector('form button[type=submit]') && !!window.nexusUploads`, 30_000);
  await sleep(500); // hydration
  const email = `bench-${Date.now()}@example.com`;
  const fill = `(() => {
    const set = (sel, v) => { const i = document.querySelector(sel); i.value = v; i.dispatchEvent(new Event('input', { bubbles: true })); };
    set('input[type=email]', '${email}');
    set('input[type=password]', 'bench password 1234');
    document.querySelector('form button[type=submit]').click();
  })()`;
  await evaluate(fill);
  // Sign-up signs nobody in (it answers the same for a taken address): sign in, then open
  // the account's first vault.
  await until(`location.pathname === '/sign-in' && !!document.querySelector('form button[type=submit]')`, 30_000);
  await sleep(500); // hydration
  await evaluate(fill);
  await until(`location.pathname === '/vaults' && !!document.querySelector('a[href^="/vaults/"]')`, 30_000);
  await evaluate(`document.querySelector('a[href^="/vaults/"]').click()`);
  await until(`/\\/vaults\\/[0-9a-f-]+$/.test(location.pathname) && document.body.innerText.includes('This folder is empty.')`, 30_000);
  await sleep(1000); // hydration of the vault page

  const { root } = await s('DOM.getDocument', { depth: 0 });
  const { nodeId } = await s('DOM.querySelector', { nodeId: root.nodeId, selector: 'input[data-testid=pick-files]' });
  await s('DOM.setFileInputFiles', { nodeId, files: [path.resolve(file)] });

  let peak = 0;
  const end = Date.now() + 900_000;
  for (;;) {
    const st = await evaluate(`({
      done: /(^|\\n)Uploaded ·/.test(document.body.innerText),
      failed: /(^|\\n)(Failed|Stopped)/.test(document.body.innerText),
      heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    })`);
    peak = Math.max(peak, st.heap);
    if (st.done) break;
    if (st.failed || Date.now() > end) throw new Error('the upload did not finish');
    await sleep(250);
  }
  const r = await evaluate(`(() => {
    const e = performance.getEntriesByType('resource');
    const start = e.find((x) => x.name.includes('/api/start_upload'));
    const done = e.filter((x) => x.name.includes('/api/complete_upload')).pop();
    const puts = e.filter((x) => x.name.includes('partNumber='));
    return {
      seconds: (done.responseEnd - start.startTime) / 1000,
      // Until the last part was stored, and the completion (the endpoint assembling the
      // object, then the server's checks).
      parts_seconds: (Math.max(...puts.map((x) => x.responseEnd)) - start.startTime) / 1000,
      complete_seconds: (done.responseEnd - done.startTime) / 1000,
      app_bytes: window.__appBytes,
    };
  })()`);
  console.log(JSON.stringify({ ...r, peak_heap: peak }));
  const gone = new Promise((ok) => chrome.on('exit', ok));
  chrome.kill();
  await gone;
  fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  process.exit(0);
})().catch((e) => { console.error(e); chrome.kill(); process.exit(1); });
