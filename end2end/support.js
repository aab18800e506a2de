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

// The SHA-256 of a browser download, read from Playwright's copy without a second copy on
// disk; the download is deleted afterwards.
async function downloadSha256(download) {
  const h = crypto.createHash('sha256');
  for await (const chunk of await download.createReadStream()) h.update(chunk);
  await download.delete();
  return h.digest('hex');
}

// Waits until the page is live (the wasm marks <html data-hydrated> once hydrated): after a
// full page load (reload, goto, back or forward across documents) a click that comes first
// is a plain page's click, which the app never sees.
async function alive(page) {
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

module.exports = { signUp, createAccount, scratchDir, removeScratch, downloadSha256, alive };
