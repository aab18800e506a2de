// What every browser test does first.
const { expect } = require('@playwright/test');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

// Signs up a new account (its email starts with `who`, or is `email`): sign-up answers the
// same whether or not the address has an account, so it signs nobody in; the new account
// signs in with its password on the page sign-up leads to, then opens its vault.
async function createAccount(page, email) {
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/sign-in\?signed_up=1/);
  await expect(page.getByText('Check your email.')).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/vaults$/);
  await page.getByRole('link', { name: 'My vault' }).click();
  await expect(page).toHaveURL(/\/vaults\/[0-9a-f-]+$/);
}

// Signs up a new account (its email starts with `who`) and waits for its empty vault.
async function signUp(page, who) {
  await createAccount(page, `${who}-${Date.now()}@example.com`);
  await expect(page.getByText('This folder is empty.')).toBeVisible();
}

// A scratch folder for a test's files; `removeScratch` (run after each test) deletes it
// even when the test failed, so a failed run leaves no gigabyte behind.
const scratch = [];
function scratchDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
function removeScratch() {
  while (scratch.length) fs.rmSync(scratch.pop(), { recursive: true, force: true });
}

// CRC-64/NVME (S3's x-amz-checksum-crc64nvme), reflected, in two 32-bit halves (a BigInt per
// byte would take minutes for a gigabyte).
const CRC64 = (() => {
  const lo = new Uint32Array(256), hi = new Uint32Array(256);
  const pLo = 0xac4bc9b5, pHi = 0x9a6c9329; // 0x9a6c9329ac4bc9b5, the reflected polynomial
  for (let i = 0; i < 256; i++) {
    let l = i, h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | (h << 31)) >>> 0;
      h = h >>> 1;
      if (bit) { l = (l ^ pLo) >>> 0; h = (h ^ pHi) >>> 0; }
    }
    lo[i] = l; hi[i] = h;
  }
  return { lo, hi };
})();
class Crc64Nvme {
  constructor() { this.l = 0xffffffff; this.h = 0xffffffff; }
  update(buf) {
    let l = this.l, h = this.h;
    const { lo, hi } = CRC64;
    for (let i = 0; i < buf.length; i++) {
      const x = (l ^ buf[i]) & 0xff;
      l = ((l >>> 8) | (h << 24)) ^ lo[x];
      h = (h >>> 8) ^ hi[x];
    }
    this.l = l >>> 0; this.h = h >>> 0;
    return this;
  }
  // base64 of the 8 big-endian bytes, as S3's header carries it
  digest() {
    const b = Buffer.alloc(8);
    b.writeUInt32BE((~this.h) >>> 0, 0);
    b.writeUInt32BE((~this.l) >>> 0, 4);
    return b.toString('base64');
  }
}
if (new Crc64Nvme().update(Buffer.from('123456789')).digest() !== Buffer.from('ae8b14860a799888', 'hex').toString('base64')) {
  throw new Error('CRC-64/NVME self-check failed');
}

// Checks downloaded bytes against what the server stored for the file (its id is the last
// segment of the presigned URL's key): the whole file's CRC64NVME, which storage verified at
// upload, always; the SHA-256 when one was recorded. Answers the SHA-256 of the bytes.
async function checkAgainstStored(page, url, sums) {
  const fileId = decodeURIComponent(new URL(url).pathname.split('/').pop());
  // (a server function: same-origin requests only, as the page sends them)
  const origin = new URL(page.url()).origin;
  const r = await page.request.post('/api/file_details', { form: { file_id: fileId }, headers: { Origin: origin } });
  expect(r.status(), `file_details ${fileId}`).toBe(200);
  const stored = await r.json();
  expect(stored.crc64nvme, 'a CRC64NVME is stored for every new upload').toBeTruthy();
  expect(sums.crc64nvme, 'the download is the bytes storage verified').toBe(stored.crc64nvme);
  if (stored.sha256) expect(sums.sha256).toBe(stored.sha256);
  return sums.sha256;
}

// The SHA-256 of a browser download, read from Playwright's copy without a second copy on
// disk, checked against the file's stored CRC64NVME (and SHA-256); the download is deleted
// afterwards.
async function downloadSha256(download, page) {
  const h = crypto.createHash('sha256');
  const c = new Crc64Nvme();
  for await (const chunk of await download.createReadStream()) { h.update(chunk); c.update(chunk); }
  await download.delete();
  return checkAgainstStored(page, download.url(), { sha256: h.digest('hex'), crc64nvme: c.digest() });
}

// The same for bytes fetched with page.request (`response`).
async function bodySha256(page, response) {
  const body = await response.body();
  const sums = {
    sha256: crypto.createHash('sha256').update(body).digest('hex'),
    crc64nvme: new Crc64Nvme().update(body).digest(),
  };
  return checkAgainstStored(page, response.url(), sums);
}

// Waits until the page is live (the wasm marks <html data-hydrated> once hydrated): after a
// full page load (reload, goto, back or forward across documents) a click that comes first
// is a plain page's click, which the app never sees.
async function alive(page) {
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

// The first link in the newest mail to `to` (the app's outbox, read from its SQLite
// database), as a path on this site.
function lastMailLink(to) {
  const { execFileSync } = require('child_process');
  const body = execFileSync(process.env.NEXUS_E2E_PYTHON || 'python3', ['-c', `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT body FROM mail_outbox WHERE to_addr = ? ORDER BY created_at DESC, id DESC LIMIT 1", (sys.argv[2],)).fetchone()
print(row[0] if row else "")`, process.env.NEXUS_E2E_DB, to]).toString();
  const m = body.match(/https?:\/\/\S+/);
  expect(m, `a link in: ${body}`).toBeTruthy();
  const url = new URL(m[0]);
  return url.pathname + url.search;
}

module.exports = { lastMailLink, signUp, createAccount, scratchDir, removeScratch, downloadSha256, bodySha256, Crc64Nvme, alive };
