// The web app in a real browser (Debian's Chromium driven by playwright-core) against the
// running suite: Kafka, the schema registry, command handler, projector, GraphQL endpoint and
// the app served on 8181, as `scripts/run.sh` starts them. Screenshots of every view go to
// e2e/screenshots/.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FRONTEND = process.env.OPEN_BANK_FRONTEND_URL ?? 'http://127.0.0.1:8181';
const GRAPHQL = process.env.OPEN_BANK_GRAPHQL_URL ?? 'http://127.0.0.1:8888/graphql';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const COMPANY_IBAN = 'NL66OPEN0000000000';
const INSUFFICIENT_FUNDS = 'insufficient funds would be below the limit of € -500,00';

// Fresh users on every run, so the test passes against a cluster that already has data.
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const alice = { username: `alice-${run}`, password: 'alice-password' };
const bob = { username: `bob-${run}`, password: 'bob-password' };
const lunch = `lunch ${run}`;

let browser: Browser;
const contexts: BrowserContext[] = [];

async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function logIn(page: Page, user: { username: string; password: string }): Promise<string> {
  await page.goto(`${FRONTEND}/#/client`);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  const iban = page.getByTestId('own-iban');
  await iban.waitFor();
  return (await iban.textContent()) ?? '';
}

/** Opens an account straight through the API, as a first login does. */
async function openAccount(username: string, password: string): Promise<void> {
  const response = await fetch(GRAPHQL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query:
        'mutation ($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban reason } }',
      variables: { u: username, p: password },
    }),
  });
  const answer = (await response.json()) as { data?: { get_account: { iban: string | null } } };
  expect(answer.data?.get_account.iban, JSON.stringify(answer)).toBeTruthy();
}

async function waitForText(page: Page, testId: string, text: string): Promise<void> {
  await page.getByTestId(testId).filter({ hasText: text }).waitFor();
}

function row(page: Page, ...texts: string[]) {
  let rows = page.locator('table.transactions tbody tr');
  for (const text of texts) rows = rows.filter({ hasText: text });
  return rows;
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
    ],
  });
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
});

describe('Open Bank in a browser', () => {
  let alicePage: Page;
  let bobPage: Page;
  let aliceIban: string;
  let bobIban: string;

  it('shows the company account’s transactions on the home view, live', async () => {
    const page = await newPage();
    await page.goto(FRONTEND);
    await page.getByRole('heading', { name: 'Open Bank on Kafka', level: 1 }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).first().waitFor();
    await row(page).first().waitFor();
    expect(await page.getByText(COMPANY_IBAN).count()).toBeGreaterThan(0);
    await screenshot(page, 'home');
  });

  it('logs two users in; the first login opens an account with nothing on it', async () => {
    alicePage = await newPage();
    bobPage = await newPage();
    aliceIban = await logIn(alicePage, alice);
    // Bob uses the keyboard only.
    await bobPage.goto(`${FRONTEND}/#/client`);
    await bobPage.getByLabel('Username').focus();
    await bobPage.keyboard.type(bob.username);
    await bobPage.keyboard.press('Tab');
    await bobPage.keyboard.type(bob.password);
    await bobPage.keyboard.press('Enter');
    await bobPage.getByTestId('own-iban').waitFor();
    bobIban = (await bobPage.getByTestId('own-iban').textContent()) ?? '';

    expect(aliceIban).toMatch(/^NL\d{2}OPEN0\d{9}$/);
    expect(bobIban).toMatch(/^NL\d{2}OPEN0\d{9}$/);
    expect(aliceIban).not.toBe(bobIban);
    await waitForText(alicePage, 'balance', '€ 0,00');
    await waitForText(bobPage, 'balance', '€ 0,00');
  });

  it('deposits cash and shows the transaction and the new balance without a reload', async () => {
    await alicePage.getByRole('button', { name: 'Deposit € 100,00' }).click();
    await alicePage.getByRole('status').filter({ hasText: '€ 100,00 deposited.' }).waitFor();
    await row(alicePage, '+ € 100,00', 'cash').waitFor();
    await waitForText(alicePage, 'balance', '€ 100,00');
  });

  it('transfers between the two users; both see it appear live', async () => {
    await alicePage.getByLabel('To (IBAN)').fill(bobIban);
    await alicePage.getByLabel('Amount in euros').fill('25,50');
    await alicePage.getByRole('textbox', { name: 'Description' }).fill(lunch);
    await alicePage.getByRole('button', { name: 'Transfer', exact: true }).click();
    await alicePage
      .getByRole('status')
      .filter({ hasText: `€ 25,50 transferred to ${bobIban}.` })
      .waitFor();

    await row(alicePage, lunch, '− € 25,50', bobIban).waitFor();
    await waitForText(alicePage, 'balance', '€ 74,50');
    await row(bobPage, lunch, '+ € 25,50', aliceIban).waitFor();
    await waitForText(bobPage, 'balance', '€ 25,50');
    // Newest first: the transfer above the deposit.
    const aliceRows = await row(alicePage).allTextContents();
    expect(aliceRows[0]).toContain(lunch);
    expect(aliceRows[1]).toContain('cash');
    await screenshot(alicePage, 'client-alice');
    await screenshot(bobPage, 'client-bob');
  });

  it('shows why a transfer failed, and moves no money', async () => {
    await bobPage.getByLabel('To (IBAN)').fill(aliceIban);
    await bobPage.getByLabel('Amount in euros').fill('1.000');
    await bobPage.getByRole('textbox', { name: 'Description' }).fill('too much');
    await bobPage.getByRole('button', { name: 'Transfer', exact: true }).click();
    await bobPage
      .getByRole('alert')
      .filter({ hasText: `Transfer failed: ${INSUFFICIENT_FUNDS}` })
      .waitFor();
    await screenshot(bobPage, 'client-failed-transfer');

    await bobPage.getByLabel('To (IBAN)').fill('NL00OPEN0000000000');
    await bobPage.getByLabel('Amount in euros').fill('5');
    await bobPage.getByRole('button', { name: 'Transfer', exact: true }).click();
    await bobPage.getByRole('alert').filter({ hasText: 'Transfer failed:' }).waitFor();

    await bobPage.getByLabel('Amount in euros').fill('twelve');
    await bobPage.getByRole('button', { name: 'Transfer', exact: true }).click();
    await bobPage.getByRole('alert').filter({ hasText: 'is not an amount in euros' }).waitFor();

    expect(await row(bobPage, 'too much').count()).toBe(0);
    await waitForText(bobPage, 'balance', '€ 25,50');
  });

  it('shows the API’s reason for a refused login', async () => {
    const page = await newPage();
    await page.goto(`${FRONTEND}/#/client`);
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'password should be at least 8 characters' })
      .waitFor();
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'invalid password' }).waitFor();
    await screenshot(page, 'client-login-refused');
  });

  it('lets an employee find any account and follow its transactions live', async () => {
    const page = await newPage();
    await page.goto(`${FRONTEND}/#/employee`);
    await page.getByRole('heading', { name: 'All accounts' }).waitFor();
    const search = page.getByLabel('Find IBAN or owner');

    // An account is listed from its opening on, before any transaction.
    const carol = { username: `carol-${run}`, password: 'carol-password' };
    const carolIban = await logIn(await newPage(), carol);
    await page.getByRole('button', { name: 'Reload' }).click();
    await search.fill(carol.username);
    await page
      .locator(`table.accounts tr[data-iban="${carolIban}"]`)
      .filter({ hasText: '€ 0,00' })
      .filter({ hasText: carol.username })
      .waitFor();

    await search.fill(aliceIban);
    const account = page.locator(`table.accounts tr[data-iban="${aliceIban}"]`);
    await account.filter({ hasText: '€ 74,50' }).waitFor();
    await page.getByRole('button', { name: `Follow ${aliceIban}` }).click();
    await page.getByRole('heading', { name: `Following ${aliceIban}` }).waitFor();
    await row(page, lunch).waitFor();

    await alicePage.getByRole('button', { name: 'Deposit € 10,00' }).click();
    await row(page, '+ € 10,00', 'cash').waitFor();
    await account.filter({ hasText: '€ 84,50' }).waitFor();
    await screenshot(page, 'employee');

    // More accounts than fit on a page, whatever the cluster held before.
    await Promise.all(
      Array.from({ length: 11 }, (_, i) => openAccount(`dave-${i}-${run}`, 'dave-password')),
    );
    await page.getByRole('button', { name: 'Reload' }).click();
    await search.fill('');
    const rows = page.locator('table.accounts tbody tr');
    await rows.nth(9).waitFor();
    const pages = page.getByRole('navigation', { name: 'Pages of accounts' });
    await pages.filter({ hasText: '1–10 of' }).waitFor();
    await screenshot(page, 'employee-accounts');
    const firstIban = await rows.first().getAttribute('data-iban');
    await pages.getByRole('button', { name: 'Next' }).click();
    await pages.filter({ hasText: 'page 2 of' }).waitFor();
    expect(await rows.first().getAttribute('data-iban')).not.toBe(firstIban);
    await pages.getByRole('button', { name: 'Previous' }).click();
    await pages.filter({ hasText: 'page 1 of' }).waitFor();
    expect(await rows.first().getAttribute('data-iban')).toBe(firstIban);
  });

  it('shows as many transactions and such fields as the user chooses', async () => {
    await alicePage.getByText('Display options').click();
    await alicePage.getByLabel('Transactions to show').selectOption('5');
    await alicePage.getByRole('checkbox', { name: 'Description' }).uncheck();
    await alicePage
      .getByRole('columnheader', { name: 'Description' })
      .waitFor({ state: 'detached' });
    await alicePage.getByRole('checkbox', { name: 'IBAN' }).check();
    await alicePage.getByRole('columnheader', { name: 'IBAN' }).waitFor();
    for (let i = 0; i < 4; i++) {
      await alicePage.getByRole('button', { name: 'Deposit € 10,00' }).click();
      await alicePage.getByRole('status').filter({ hasText: '€ 10,00 deposited.' }).waitFor();
    }
    await waitForText(alicePage, 'balance', '€ 124,50');
    expect(await row(alicePage).count()).toBe(5);
    await screenshot(alicePage, 'client-display-options');
    await alicePage.getByRole('checkbox', { name: 'Description' }).check();
  });

  it('is usable at phone width', async () => {
    const page = await newPage({ width: 390, height: 844 });
    const iban = await logIn(page, alice);
    expect(iban).toBe(aliceIban);
    await row(page, lunch).waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'client-phone');
  });

  it('can point at another endpoint URL, here the GraphQL endpoint itself through CORS', async () => {
    const page = await newPage();
    await page.goto(`${FRONTEND}/?endpoint=${encodeURIComponent(GRAPHQL)}`);
    await page.getByTestId('endpoint').filter({ hasText: GRAPHQL }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).first().waitFor();
    await row(page).first().waitFor();
    await page.goto(`${FRONTEND}/?endpoint=`);
    await page
      .getByTestId('endpoint')
      .filter({ hasText: `${FRONTEND}/graphql` })
      .waitFor();
  });
});
