// What every browser test does first.
const { expect } = require('@playwright/test');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

// Signs up a new account (its email starts with `who`) and waits for its empty vault.
async function signUp(page, who) {
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(`${who}-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/vaults\/[0-9a-f-]+$/);
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

// The SHA-256 of a browser download, read from Playwright's copy without a second copy on
// disk; the download is deleted afterwards.
async function downloadSha256(download) {
  const h = crypto.createHash('sha256');
  for await (const chunk of await download.createReadStream()) h.update(chunk);
  await download.delete();
  return h.digest('hex');
}

module.exports = { signUp, scratchDir, removeScratch, downloadSha256 };
