// The account page as a person uses it: the unconfirmed-address banner, the list of
// sessions, a password change that signs out the other session, a password reset by mail
// (which signs out every session), and "sign out everywhere".
const { test, expect } = require('@playwright/test');
const { createAccount, lastMailLink } = require('../support');


async function signIn(page, email, password) {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/vaults$/);
}

test('sessions, a password change, a reset by mail and signing out everywhere', async ({ page, browser }, testInfo) => {
  const email = `acct-${Date.now()}@example.com`;
  await createAccount(page, email);
  await expect(page.getByTestId('unconfirmed-banner')).toContainText(`we mailed a link to ${email}`);

  // A second browser signs in to the same account.
  const other = await browser.newContext();
  const second = await other.newPage();
  await signIn(second, email, 'correct horse battery');

  // The header's email leads to the account page, which lists both sessions.
  await page.getByRole('link', { name: email }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();
  await expect(page.getByTestId('session-row')).toHaveCount(2);
  await expect(page.getByTestId('session-row').filter({ hasText: 'this session' })).toHaveCount(1);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await page.screenshot({ path: testInfo.outputPath('account.png'), fullPage: true });

  // A wrong current password is named; the right one changes it and ends the other session.
  await page.getByLabel('Current password', { exact: true }).fill('not my password');
  await page.getByLabel('New password', { exact: true }).fill('a better password 42');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('That is not your current password.')).toBeVisible();
  await page.getByLabel('Current password', { exact: true }).fill('correct horse battery');
  await page.getByLabel('New password', { exact: true }).fill('a better password 42');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password changed. Your other sessions were signed out.')).toBeVisible();
  await second.goto('/account');
  await expect(second).toHaveURL(/\/sign-in\?next=\/account/);
  await page.reload();
  await expect(page.getByTestId('session-row')).toHaveCount(1);

  // Forgotten: a reset link by mail, a new password, every other session signed out.
  await second.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(second).toHaveURL(/\/sign-in\/forgot$/);
  await second.getByLabel('Email').fill(email);
  await second.getByRole('button', { name: 'Email me the link' }).click();
  await expect(second).toHaveURL(/link_sent=reset/);
  await expect(second.getByTestId('link-sent')).toContainText('a link to choose a new password');
  await second.goto(lastMailLink(email));
  await expect(second.getByText('It replaces your old password')).toBeVisible();
  await second.getByLabel('New password').fill('the newest password 7');
  await second.getByRole('button', { name: 'Continue and sign in' }).click();
  await expect(second).toHaveURL(/\/vaults$/);
  // The reset confirmed the address: no banner.
  await expect(second.getByTestId('unconfirmed-banner')).toHaveCount(0);
  await page.goto('/account');
  await expect(page).toHaveURL(/\/sign-in/);

  // Sign out everywhere from the account page.
  await signIn(page, email, 'the newest password 7');
  await second.goto('/account');
  await expect(second.getByTestId('session-row')).toHaveCount(2);
  await second.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(second).toHaveURL(/\/sign-in$/);
  await page.goto('/account');
  await expect(page).toHaveURL(/\/sign-in/);
  await other.close();
});

test('a mailed sign-in link signs in without the password', async ({ page }) => {
  const email = `magic-${Date.now()}@example.com`;
  await createAccount(page, email);
  // Confirm the address first (its first link would otherwise ask for a new password).
  await page.goto(lastMailLink(email));
  await page.getByLabel('New password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Continue and sign in' }).click();
  await expect(page).toHaveURL(/\/vaults$/);
  await page.context().clearCookies();

  await page.goto('/sign-in/forgot');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('a link that signs me in').check();
  await page.getByRole('button', { name: 'Email me the link' }).click();
  await expect(page.getByTestId('link-sent')).toContainText('a sign-in link is on its way');
  await page.goto(lastMailLink(email));
  await page.getByRole('button', { name: 'Continue and sign in' }).click();
  await expect(page).toHaveURL(/\/vaults$/);
  await expect(page.getByRole('link', { name: email })).toBeVisible();
});

test('mail settings stick, the export downloads, and deleting the account signs it out for good', async ({ page }) => {
  const email = `gone-${Date.now()}@example.com`;
  await createAccount(page, email);
  await page.goto('/account');
  const restore = page.getByLabel('A restore is ready to download');
  await expect(restore).toBeChecked();
  await expect(page.getByLabel('A payment failed')).toBeDisabled();
  await restore.uncheck();
  await page.reload();
  await expect(page.getByLabel('A restore is ready to download')).not.toBeChecked();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export my data (JSON)' }).click(),
  ]);
  const exported = JSON.parse(require('fs').readFileSync(await download.path(), 'utf8'));
  expect(exported.account.email).toBe(email);
  expect(exported.workspaces[0].vaults[0].name).toBe('My vault');

  await page.getByText('Delete my account', { exact: true }).first().click();
  await page.getByLabel(/Type your email/).fill('not-me@example.com');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page.getByText('Type your email exactly to delete the account.')).toBeVisible();
  await page.getByLabel(/Type your email/).fill(email);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page).toHaveURL(/\/\?deleted=1$/);
  await expect(page.getByTestId('account-deleted')).toContainText('Your account was deleted');
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Email or password is incorrect.')).toBeVisible();
});

test('right after signing in, the header never offers to sign in or create an account', async ({ page }) => {
  const email = `header-${Date.now()}@example.com`;
  await createAccount(page, email);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/vaults$/);
  // Checked at once, not waited for: the header loads again after the navigation, and the
  // signed-out links it showed on the sign-in page must not show meanwhile.
  expect(await page.getByRole('link', { name: 'Create account' }).isVisible()).toBe(false);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
});
