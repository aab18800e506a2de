// Upgrading and cancelling as a person does it, through the Stripe fake's stand-ins for the
// hosted Checkout and Billing Portal pages (scripts/test starts the fake and points the app
// at it; its webhooks are signed as Stripe signs them).
const { test, expect } = require('@playwright/test');
const { signUp } = require('../support');

test('choose Plus through Checkout, see the trial, cancel in the portal, told what happens', async ({ page }, testInfo) => {
  await signUp(page, 'billing');
  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await page.getByRole('link', { name: 'Plans and billing' }).click();
  await expect(page.getByTestId('current-plan')).toHaveText('Free');
  await expect(page.getByTestId('billing-status')).toHaveText('No subscription');
  await page.getByRole('button', { name: 'Choose Plus' }).click();

  // Stripe's Checkout (the fake's stand-in): a 14-day trial, then $6.00 a month.
  await expect(page).toHaveURL(/\/checkout\/cs_test_/);
  await expect(page.getByText('Free for 14 days, then')).toBeVisible();
  await expect(page.getByText('$6.00 per month')).toBeVisible();
  await page.getByRole('button', { name: 'Subscribe' }).click();

  // Back in the app: the webhook sets the plan within seconds; the page looks again.
  await expect(page).toHaveURL(/\/billing\?checkout=done/);
  await expect(page.getByText('Your plan is being set up')).toBeVisible();
  await expect(page.getByTestId('billing-status')).toHaveText('Trial: 14 days left', { timeout: 30_000 });
  await expect(page.getByTestId('current-plan')).toHaveText('Plus');
  await page.screenshot({ path: testInfo.outputPath('billing-trial.png'), fullPage: true });

  // The portal: cancel at the end of the period.
  await page.getByRole('button', { name: 'Manage card, invoices or cancel' }).click();
  await expect(page).toHaveURL(/\/portal\/bps_/);
  await page.getByRole('button', { name: 'Cancel plan' }).click();
  // Back with ?portal=1: the page looks again until the webhook's change shows.
  await expect(page).toHaveURL(/\/billing\?portal=1$/);
  await expect(page.getByTestId('cancel-notice')).toContainText('Your files stay and can be downloaded', { timeout: 30_000 });
  await expect(page.getByText('Ends', { exact: true })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('billing-canceled.png'), fullPage: true });
});
