// Share links and the audit log as people use them: a file shared by its path with a
// password; the link opened in a browser with no session asks for the password, then
// downloads the file byte for byte (its address made at the click); the link revoked stops
// working; the owner's audit page lists both changes and filters them.
const { test, expect } = require('@playwright/test');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { signUp, scratchDir, removeScratch } = require('../support');

test.afterEach(removeScratch);

test('share a file with a password, download it signed out, revoke it, see it audited', async ({ page, browser }, testInfo) => {
  await signUp(page, 'share');
  const dir = scratchDir('nexus-share-');
  const file = path.join(dir, 'plan <b>.txt');
  const bytes = crypto.randomBytes(3000);
  fs.writeFileSync(file, bytes);
  await page.getByLabel('Choose files').setInputFiles(file);
  await expect(page.getByTestId('queue-status')).toContainText('Finished · 1 of 1 file');

  // From the file's details: "Share a link to this file…" fills the path in.
  await page.getByRole('link', { name: 'plan <b>.txt', exact: true }).click();
  await expect(page.getByRole('complementary', { name: 'File details' })).toBeVisible();
  await page.getByRole('link', { name: 'Share a link to this file…' }).click();
  await expect(page).toHaveURL(/\/shares\?vault=.*&path=/);
  await expect(page.getByLabel('File or folder')).toHaveValue('plan <b>.txt');
  await page.getByLabel('Password (optional)').fill('open sesame');
  await page.getByLabel('Download limit (optional)').fill('3');
  await page.getByRole('button', { name: 'Make the link' }).click();
  const url = await page.getByLabel('New share link').inputValue();
  expect(url).toMatch(/\/s\/[0-9a-f]+$/);
  await expect(page.getByTestId('share-row')).toContainText('plan <b>.txt');
  await page.screenshot({ path: testInfo.outputPath('shares.png'), fullPage: true });

  // Someone without an account opens it.
  const ctx = await browser.newContext();
  const other = await ctx.newPage();
  await other.goto(new URL(url).pathname);
  await expect(other.getByRole('heading', { name: 'This link has a password' })).toBeVisible();
  await other.getByLabel('Password').fill('wrong one');
  await other.getByRole('button', { name: 'Open' }).click();
  await expect(other.getByText("That is not the link's password.")).toBeVisible();
  await other.getByLabel('Password').fill('open sesame');
  await other.getByRole('button', { name: 'Open' }).click();
  await expect(other.getByRole('heading', { name: 'plan <b>.txt' })).toBeVisible();
  await expect(other.getByText('2 downloads left').or(other.getByText('3 downloads left'))).toBeVisible();
  const [download] = await Promise.all([
    other.waitForEvent('download'),
    other.getByRole('button', { name: 'Download plan <b>.txt' }).click(),
  ]);
  const got = fs.readFileSync(await download.path());
  expect(Buffer.compare(got, bytes)).toBe(0);
  await other.screenshot({ path: testInfo.outputPath('shared.png'), fullPage: true });

  // Revoked: the link stops.
  await page.reload();
  await expect(page.getByTestId('share-row')).toContainText('1 of 3');
  await page.getByRole('button', { name: 'Revoke the link to plan <b>.txt' }).click();
  await expect(page.getByTestId('share-row')).toContainText('revoked');
  await other.reload();
  await expect(other.getByRole('heading', { name: 'This link no longer works' })).toBeVisible();
  await ctx.close();

  // The audit log, through the team page.
  await page.goto('/team');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByTestId('audit-row').filter({ hasText: 'share.create' })).toHaveCount(1);
  await expect(page.getByTestId('audit-row').filter({ hasText: 'share.revoke' })).toHaveCount(1);
  await page.getByLabel('What').selectOption('share.');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByTestId('audit-row')).toHaveCount(2);
  await page.screenshot({ path: testInfo.outputPath('audit.png'), fullPage: true });
});
