// Headless Chromium for the upload benchmarks, driven over the raw DevTools protocol (a pipe,
// as Playwright does) with only the Page, DOM and Runtime domains: Playwright turns on the
// Network domain for every page, and Chromium then copies each request body (every 8 MiB
// part) to the driver, which costs more than the upload itself (it capped the benchmark at
// ~14 MB/s). Also: the CPU time Chromium's processes used, for "CPU seconds per GiB".
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts Chromium; answers { page, cpuSeconds, close }: `page` has evaluate(expr), until(expr,
// ms), send(method, params) and setFiles(selector, files).
async function launch() {
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
  const send = (method, params = {}, sessionId) => {
    const id = nextId++;
    return new Promise((ok, fail) => {
      waiting.set(id, { ok, fail });
      toChrome.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
    });
  };
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const s = (m, p) => send(m, p, sessionId);
  const evaluate = async (expression) => {
    const r = await s('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expression.slice(0, 200)}: ${JSON.stringify(r.exceptionDetails)}`);
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
  const setFiles = async (selector, files) => {
    const { root } = await s('DOM.getDocument', { depth: 0 });
    const { nodeId } = await s('DOM.querySelector', { nodeId: root.nodeId, selector });
    await s('DOM.setFileInputFiles', { nodeId, files: files.map((f) => path.resolve(f)) });
  };
  await s('Page.enable');
  await s('Runtime.enable');
  // User and system CPU seconds of Chromium and every process it started (renderer, network
  // service, GPU, utility), from /proc.
  const cpuSeconds = () => {
    const stats = new Map();
    for (const p of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        stats.set(Number(p), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
      } catch (e) { /* gone */ }
    }
    const inTree = (pid) => {
      for (let p = pid, hops = 0; p > 1 && hops < 20; hops++) {
        if (p === chrome.pid) return true;
        p = stats.get(p) ? stats.get(p).ppid : 0;
      }
      return false;
    };
    let ticks = 0;
    for (const [pid, v] of stats) if (inTree(pid)) ticks += v.ticks;
    return ticks / 100; // USER_HZ
  };
  // The same, split by process kind and thread name ("renderer/DedicatedWorker …"), to see
  // where the time goes.
  const cpuByThread = () => {
    const out = {};
    const kids = new Map();
    for (const p of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        kids.set(Number(p), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
      } catch (e) { /* gone */ }
    }
    for (const [pid] of kids) {
      let p = pid, ok = false;
      for (let hops = 0; p > 1 && hops < 20; hops++) { if (p === chrome.pid) { ok = true; break; } p = kids.get(p) || 0; }
      if (!ok) continue;
      let kind = 'browser';
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const t = /--type=([a-z-]+)/.exec(cmd);
        const sub = /--utility-sub-type=([\w.]+)/.exec(cmd);
        if (t) kind = sub ? sub[1].split('.')[0] : t[1];
      } catch (e) { continue; }
      let tasks = [];
      try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch (e) { continue; }
      for (const tid of tasks) {
        try {
          const st = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/[0-9]+$/, '');
          const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
          const k = `${kind}/${name}`;
          out[k] = (out[k] || 0) + (Number(f[11]) + Number(f[12])) / 100;
        } catch (e) { /* gone */ }
      }
    }
    return out;
  };
  const close = async () => {
    const gone = new Promise((ok) => chrome.on('exit', ok));
    chrome.kill();
    await gone;
    try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch (e) { /* Chromium's last writes */ }
  };
  return { page: { send: s, evaluate, until, setFiles }, cpuSeconds, cpuByThread, close, kill: () => chrome.kill() };
}

module.exports = { launch, sleep };
