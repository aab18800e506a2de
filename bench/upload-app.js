// One app upload in headless Chromium, for bench/upload: signs up, uploads FILE through the
// page, and prints JSON: seconds (first start_upload sent → complete_upload answered), of
// which parts_seconds until the last part was stored and complete_seconds for completing,
// bytes the page sent to the app server, the page's peak JS heap, and the CPU seconds
// Chromium's processes used from picking the file to the end.
//
// Chromium runs as bench/cdp.js starts it (no Network domain; the CPU its processes use).
// Usage: node upload-app.js <app url> <file>
const { launch, sleep } = require('./cdp');

const [base, file] = process.argv.slice(2);
let browser;

(async () => {
  browser = await launch();
  const { page, cpuSeconds } = browser;
  const { evaluate, until } = page;
  const s = page.send;
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

  // BENCH_SEND=memory: parts sent from the buffer they were read into (the engine's
  // alternative to sending the file's slices), for the comparison.
  if (process.env.BENCH_SEND) await evaluate(`localStorage.setItem('nexus.upload.send', ${JSON.stringify(process.env.BENCH_SEND)})`);
  const cpu0 = cpuSeconds();
  const threads0 = browser.cpuByThread();
  await page.setFiles('input[data-testid=pick-files]', [file]);

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
  const cpu = cpuSeconds() - cpu0;
  if (process.env.BENCH_THREADS) {
    const t1 = browser.cpuByThread();
    const d = Object.entries(t1).map(([k, v]) => [k, v - (threads0[k] || 0)]).filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]);
    console.error(d.map(([k, v]) => `${v.toFixed(2)}s ${k}`).join('\n'));
  }
  console.log(JSON.stringify({ ...r, peak_heap: peak, cpu_seconds: cpu }));
  await browser.close();
  process.exit(0);
})().catch((e) => { console.error(e); if (browser) browser.kill(); process.exit(1); });
