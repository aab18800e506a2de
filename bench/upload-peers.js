// bench/upload's peers in the same headless Chromium as the app, uploading the same file to
// the same embedded endpoint, each from a tiny page of the bench served on its own port:
//   uppy     Uppy's S3 multipart upload (@uppy/core + @uppy/aws-s3 from npm, bundled from
//            bench/uppy/entry.js), signing with the endpoint's keys; 8 MiB parts as the app.
//   ceiling  the bare page: PUTs of the file's slices (Blob.slice, 8 MiB) to presigned part
//            URLs made by bench/s3sign.py, PARALLEL at once, and nothing else: no app code.
//   buffered the bare page, each slice read into memory first and that buffer PUT.
// Prints JSON: seconds (from the first byte's request to the last part stored; the ceiling's
// completion is the endpoint's, timed apart) and the CPU seconds Chromium used.
// Usage: node upload-peers.js uppy|ceiling|buffered FILE S3_URL ACCESS SECRET PYTHON [PARALLEL]
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');
const { launch } = require('./cdp');

const [mode, file, s3Url, access, secret, python, parallelArg] = process.argv.slice(2);
const parallel = Number(parallelArg || 4);
const PART = 8 * 1024 * 1024;
const size = fs.statSync(file).size;
const sign = (cmd, ...rest) => execFileSync(python, [path.join(__dirname, 's3sign.py'), cmd, s3Url, access, secret,
  'nexus', `bench/${mode}.bin`, ...rest], { maxBuffer: 64 * 1024 * 1024 }).toString();

const PAGE = `<!doctype html><meta charset="utf-8"><title>bench</title>
<input type="file" id="f">
<script>
// The bare page: PUT each slice to its URL, PARALLEL at once; answers the ETags in order.
window.runCeiling = (file, urls, partSize, parallel) => new Promise((resolve, reject) => {
  const etags = new Array(urls.length);
  let next = 0, done = 0, failed = false;
  const t0 = performance.now();
  const one = () => {
    if (failed || next >= urls.length) return;
    const i = next++;
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', urls[i]);
    xhr.onload = () => {
      if (xhr.status !== 200) { failed = true; reject(new Error('HTTP ' + xhr.status)); return; }
      etags[i] = xhr.getResponseHeader('ETag');
      if (++done === urls.length) resolve({ etags, seconds: (performance.now() - t0) / 1000 });
      else one();
    };
    xhr.onerror = () => { failed = true; reject(new Error('network')); };
    const slice = file.slice(i * partSize, Math.min(file.size, (i + 1) * partSize));
    // "buffered": the part read into memory first and that buffer sent (what the app does,
    // without its checksum), to tell the cost of sending bytes from memory from a Blob's.
    if (window.BUFFERED) slice.arrayBuffer().then((b) => xhr.send(b), () => { failed = true; reject(new Error('read')); });
    else xhr.send(slice);
  };
  for (let k = 0; k < parallel; k++) one();
});
</script>
${mode === 'uppy' ? '<script src="/uppy.js"></script>' : ''}
${mode === 'buffered' ? '<script>window.BUFFERED = true</script>' : ''}`;

let browser;
(async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/uppy.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(fs.readFileSync(path.join(__dirname, 'uppy', 'dist', 'uppy.js')));
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  browser = await launch();
  const { page, cpuSeconds } = browser;
  await page.send('Page.navigate', { url: base });
  await page.until(`!!document.getElementById('f') && ${mode === 'uppy' ? '!!window.runUppy' : '!!window.runCeiling'}`, 30_000);
  await page.setFiles('#f', [file]);
  let out;
  if (mode === 'uppy') {
    const cpu0 = cpuSeconds();
    const r = await page.evaluate(`runUppy(document.getElementById('f').files[0], ${JSON.stringify({
      endpoint: `${s3Url}/nexus`, accessKeyId: access, secretAccessKey: secret, partSize: PART,
    })})`);
    out = { seconds: r.seconds, cpu_seconds: cpuSeconds() - cpu0 };
  } else {
    const created = JSON.parse(sign('create', String(size), String(PART)));
    const cpu0 = cpuSeconds();
    const r = await page.evaluate(`runCeiling(document.getElementById('f').files[0], ${JSON.stringify(created.urls)}, ${PART}, ${parallel})`);
    const cpu = cpuSeconds() - cpu0;
    const t = Date.now();
    sign('complete', created.upload_id, JSON.stringify(r.etags));
    out = { seconds: r.seconds, cpu_seconds: cpu, complete_seconds: (Date.now() - t) / 1000 };
  }
  console.log(JSON.stringify(out));
  await browser.close();
  server.close();
  process.exit(0);
})().catch((e) => { console.error(e); if (browser) browser.kill(); process.exit(1); });
