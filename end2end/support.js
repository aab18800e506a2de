// What every browser test does first.
const { expect } = require('@playwright/test');

// Signs up a new account (its email starts with `who`) and waits for its empty vault.
async function signUp(page, who) {
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(`${who}-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/vaults\/[0-9a-f-]+$/);
  await expect(page.getByText('This folder is empty.')).toBeVisible();
}

module.exports = { signUp };
