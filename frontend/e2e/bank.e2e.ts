// The web app in a real browser (Debian's Chromium driven by playwright-core) against the
// running suite: Kafka, the schema registry, command handler, projector, GraphQL endpoint and
// the app served on 8181, as `scripts/run.sh` starts them. Screenshots of every view go to
// e2e/screenshots/. The employee's password comes from EMPLOYEE_PASSWORD (the username from
// EMPLOYEE_USERNAME, by default `employee`), as the endpoint was started with.

import { randomUUID } from 'node:crypto';
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
const LAST_OWNER_WITH_MONEY = "last user and balance is not zero, so can't be removed";
const IBAN = /NL\d{2}OPEN0\d{9}/;
const EMPLOYEE = {
  username: process.env.EMPLOYEE_USERNAME ?? 'employee',
  password: process.env.EMPLOYEE_PASSWORD ?? '',
};
const EMPLOYEE_SESSION_KEY = 'open-bank.employee-session';

// Fresh users on every run, so the test passes against a cluster that already has data.
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const alice = { username: `alice-${run}`, password: 'alice-password' };
const bob = { username: `bob-${run}`, password: 'bob-password' };
const erin = { username: `erin-${run}`, password: 'erin-password' };
const lunch = `lunch ${run}`;
const savings = `savings ${run}`;
const gift = `gift ${run}`;

let browser: Browser;
const contexts: BrowserContext[] = [];

/**
 * Headless Chromium shows no notifications, so every one the app makes is also written down in
 * `window.__notifications`; permission and requestPermission stay the browser's own.
 */
const RECORD_NOTIFICATIONS = `
  (() => {
    const Native = window.Notification;
    window.__notifications = [];
    if (typeof Native !== 'function') return;
    class Recorded extends Native {
      constructor(title, options) {
        window.__notifications.push({
          title: String(title),
          body: (options && options.body) || '',
          tag: (options && options.tag) || '',
        });
        super(title, options);
      }
      static get permission() {
        return Native.permission;
      }
      static requestPermission(callback) {
        return Native.requestPermission(callback);
      }
    }
    window.Notification = Recorded;
  })();
`;

interface RecordedNotification {
  title: string;
  body: string;
  tag: string;
}

async function recordedNotifications(page: Page): Promise<RecordedNotification[]> {
  return page.evaluate(
    () => (window as unknown as { __notifications?: RecordedNotification[] }).__notifications ?? [],
  );
}

async function newPage(
  viewport = { width: 1280, height: 900 },
  { notifications = false } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  if (notifications) {
    await context.grantPermissions(['notifications'], { origin: new URL(FRONTEND).origin });
    await context.addInitScript({ content: RECORD_NOTIFICATIONS });
  }
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

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One request straight to the GraphQL endpoint, not through the app. */
async function graphql<T>(
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(GRAPHQL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer<T>;
}

/** Opens an account straight through the API, as a first login does; its IBAN and token. */
async function openAccount(
  username: string,
  password: string,
): Promise<{ iban: string; token: string }> {
  const answer = await graphql<{ get_account: { iban: string | null; token: string | null } }>(
    'mutation ($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }',
    { u: username, p: password },
  );
  const { iban, token } = answer.data?.get_account ?? {};
  expect(iban, JSON.stringify(answer)).toBeTruthy();
  return { iban: iban ?? '', token: token ?? '' };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Deposits of 1 cent from cash every 100–200 ms for `durationMs`, straight through the API, one
 * at a time; how many succeeded.
 */
async function depositLoad(
  user: { username: string; password: string },
  durationMs: number,
): Promise<number> {
  const { iban, token } = await openAccount(user.username, user.password);
  const until = Date.now() + durationMs;
  let succeeded = 0;
  while (Date.now() < until) {
    const answer = await graphql<{ money_transfer: { success: boolean } }>(
      `
        mutation ($uuid: String!, $u: String!, $t: String!, $to: String!) {
          money_transfer(
            uuid: $uuid
            username: $u
            token: $t
            amount: 1
            from: "cash"
            to: $to
            descr: "load"
          ) {
            success
            reason
          }
        }
      `,
      { uuid: randomUUID(), u: user.username, t: token, to: iban },
    );
    if (answer.data?.money_transfer.success) succeeded++;
    await sleep(100 + Math.random() * 100);
  }
  return succeeded;
}

/** Moves money straight through the API, as the user with `token`; fails the test when refused. */
async function transferByApi(
  user: { username: string; token: string },
  from: string,
  to: string,
  cents: number,
  descr: string,
): Promise<void> {
  const answer = await graphql<{ money_transfer: { success: boolean; reason: string | null } }>(
    `
      mutation (
        $uuid: String!
        $u: String!
        $t: String!
        $amount: Int!
        $from: String!
        $to: String!
        $descr: String!
      ) {
        money_transfer(
          uuid: $uuid
          username: $u
          token: $t
          amount: $amount
          from: $from
          to: $to
          descr: $descr
        ) {
          success
          reason
        }
      }
    `,
    {
      uuid: randomUUID(),
      u: user.username,
      t: user.token,
      amount: cents,
      from,
      to,
      descr,
    },
  );
  expect(answer.data?.money_transfer.success, JSON.stringify(answer)).toBe(true);
}

/** The user's accounts as my_accounts answers them, each with the user's own token. */
async function myAccounts(user: { username: string; password: string }) {
  const answer = await graphql<{
    my_accounts: { accounts: { iban: string; token: string; owners: string[] }[] | null };
  }>(
    'query ($u: String!, $p: String!) { my_accounts(username: $u, password: $p) { accounts { iban token owners } reason } }',
    { u: user.username, p: user.password },
  );
  const accounts = answer.data?.my_accounts.accounts;
  expect(accounts, JSON.stringify(answer)).toBeTruthy();
  return accounts ?? [];
}

/** A row of the client's own accounts. */
function ownAccount(page: Page, iban: string) {
  return page.locator(`table.own-accounts tr[data-iban="${iban}"]`);
}

async function transfer(page: Page, to: string, amount: string, descr: string): Promise<void> {
  await page.getByLabel('To (IBAN)').fill(to);
  await page.getByLabel('Amount in euros').fill(amount);
  await page.getByRole('textbox', { name: 'Description' }).fill(descr);
  await page.getByRole('button', { name: 'Transfer', exact: true }).click();
}

async function logInAsEmployee(page: Page, password = EMPLOYEE.password): Promise<void> {
  expect(EMPLOYEE.password, 'set EMPLOYEE_PASSWORD to the endpoint’s employee password').not.toBe(
    '',
  );
  await page.goto(`${FRONTEND}/#/employee`);
  await page.getByLabel('Employee username').fill(EMPLOYEE.username);
  await page.getByLabel('Employee password').fill(password);
  await page.getByRole('button', { name: 'Log in as employee' }).click();
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

  it('shows every account to logged-in employees only', async () => {
    const ALL_ACCOUNTS = '{ all_accounts(offset: 0, max_items: 1) { total } }';
    const anonymous = await graphql(ALL_ACCOUNTS);
    expect(anonymous.errors?.[0]?.extensions?.code, JSON.stringify(anonymous)).toBe(
      'UNAUTHENTICATED',
    );
    expect(anonymous.errors?.[0]?.message).toBe('employee login required');
    const forged = await graphql(ALL_ACCOUNTS, {}, { Authorization: 'Bearer not.a.session' });
    expect(forged.errors?.[0]?.extensions?.code, JSON.stringify(forged)).toBe('UNAUTHENTICATED');

    const page = await newPage();
    await page.goto(`${FRONTEND}/#/employee`);
    await page.getByRole('heading', { name: 'Employee login' }).waitFor();
    expect(await page.getByRole('heading', { name: 'All accounts' }).count()).toBe(0);
    await logInAsEmployee(page, 'not-the-password');
    await page
      .getByRole('alert')
      .filter({ hasText: 'invalid employee username or password' })
      .waitFor();
    expect(await page.getByRole('heading', { name: 'All accounts' }).count()).toBe(0);
    await screenshot(page, 'employee-login');
  });

  it('lets an employee find any account and follow its transactions live', async () => {
    const page = await newPage();
    await logInAsEmployee(page);
    await page.getByRole('heading', { name: 'All accounts' }).waitFor();
    await page.getByTestId('employee-username').filter({ hasText: EMPLOYEE.username }).waitFor();
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

    // A reload keeps the session; logging out ends it.
    await page.reload();
    await page.getByRole('heading', { name: 'All accounts' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('status').filter({ hasText: 'You logged out.' }).waitFor();
    await page.getByRole('button', { name: 'Log in as employee' }).waitFor();
    expect(await page.evaluate((key) => sessionStorage.getItem(key), EMPLOYEE_SESSION_KEY)).toBe(
      null,
    );
  });

  it('ends the employee session when it expires, and says when', async () => {
    const page = await newPage();
    // The page's clock is Playwright's, to skip the session's lifetime.
    await page.clock.install();
    await logInAsEmployee(page);
    await page.getByRole('heading', { name: 'All accounts' }).waitFor();
    const msLeft = await page.evaluate((key) => {
      const stored = JSON.parse(sessionStorage.getItem(key) ?? '{}') as { expiresAt?: string };
      return Date.parse(stored.expiresAt ?? '') - Date.now();
    }, EMPLOYEE_SESSION_KEY);
    expect(msLeft).toBeGreaterThan(0);
    await page.clock.fastForward(Math.ceil(msLeft) + 1_000);
    await page
      .getByRole('alert')
      .filter({
        hasText: /^Your employee session expired at (\d{4}-\d\d-\d\d )?\d\d:\d\d\. Log in again\.$/,
      })
      .waitFor();
    await page.getByRole('button', { name: 'Log in as employee' }).waitFor();
    expect(await page.getByRole('heading', { name: 'All accounts' }).count()).toBe(0);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), EMPLOYEE_SESSION_KEY)).toBe(
      null,
    );
    await screenshot(page, 'employee-session-expired');

    // A session the endpoint does not accept (here one it never signed) ends too, in its words.
    const other = await newPage();
    await other.goto(`${FRONTEND}/#/`);
    await other.evaluate((key) => {
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      sessionStorage.setItem(
        key,
        JSON.stringify({ username: 'employee', token: 'not.a.session', expiresAt: inAnHour }),
      );
    }, EMPLOYEE_SESSION_KEY);
    await other.goto(`${FRONTEND}/#/employee`);
    await other
      .getByRole('alert')
      .filter({ hasText: 'Your employee session ended: employee session is not valid.' })
      .waitFor();
    await other.getByRole('button', { name: 'Log in as employee' }).waitFor();
  });

  it('shows employees how the bank runs, live, while transfers come in', async () => {
    const OPERATIONS = '{ operations { transfers_per_second } }';
    const anonymous = await graphql(OPERATIONS);
    expect(anonymous.errors?.[0]?.extensions?.code, JSON.stringify(anonymous)).toBe(
      'UNAUTHENTICATED',
    );
    const stranger = await newPage();
    await stranger.goto(`${FRONTEND}/#/operations`);
    await stranger.getByRole('heading', { name: 'Employee login' }).waitFor();
    expect(await stranger.getByRole('heading', { name: 'Services' }).count()).toBe(0);
    // A session the endpoint refuses ends here as in the Employee view.
    await stranger.evaluate((key) => {
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      sessionStorage.setItem(
        key,
        JSON.stringify({ username: 'employee', token: 'not.a.session', expiresAt: inAnHour }),
      );
    }, EMPLOYEE_SESSION_KEY);
    await stranger.goto(`${FRONTEND}/#/`);
    await stranger.goto(`${FRONTEND}/#/operations`);
    await stranger
      .getByRole('alert')
      .filter({ hasText: 'Your employee session ended: employee session is not valid.' })
      .waitFor();
    await stranger.getByRole('button', { name: 'Log in as employee' }).waitFor();

    // The Employee view's session holds here too.
    const page = await newPage();
    await logInAsEmployee(page);
    await page.getByRole('heading', { name: 'All accounts' }).waitFor();
    await page
      .getByRole('navigation', { name: 'Views' })
      .getByRole('link', { name: 'Operations' })
      .click();
    await page.getByRole('heading', { name: 'Operations', level: 1 }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    const loadStarted = Date.now();
    const load = depositLoad({ username: `frank-${run}`, password: 'frank-password' }, 10_000);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="transfers-per-second"]')?.textContent) > 0,
    );
    for (const service of ['graphql-endpoint', 'command-handler', 'projector']) {
      await page
        .locator(`table.services tr[data-service="${service}"][data-healthy="true"]`)
        .filter({ hasText: '✓ healthy' })
        .first()
        .waitFor();
    }
    await page
      .locator('table.commands tbody tr')
      .filter({ hasText: 'MoneyTransferCommand' })
      .filter({ hasText: 'succeeded' })
      .first()
      .waitFor();
    const chart = page.getByRole('img', { name: /^Transfer latency over the last \d+ minutes?: / });
    await chart.locator('canvas').first().waitFor();
    await page
      .getByTestId('latency-p99')
      .filter({ hasText: /^\d+\.\d ms$/ })
      .waitFor();
    expect(await chart.getAttribute('aria-label')).toMatch(/p50 \d+\.\d ms, p95 \d+\.\d ms/);
    const box = await chart.locator('canvas').first().boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    // A few seconds of load on screen, for the picture.
    await sleep(loadStarted + 6_000 - Date.now());
    await screenshot(page, 'operations');

    // At phone width the tables are cards and the chart fits.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(
      () => (document.querySelector('.chart canvas')?.getBoundingClientRect().width ?? 999) < 390,
    );
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'operations-phone');

    // The newest 10 commands, and all the endpoint keeps when asked.
    const commands = page.locator('table.commands tbody tr');
    expect(await commands.count()).toBe(10);
    await page.getByRole('button', { name: /^Show all \d+$/ }).click();
    await commands.nth(10).waitFor();

    expect(await load).toBeGreaterThan(0);
  });

  it('shows as many transactions and such fields as the user chooses', async () => {
    await alicePage.getByText('Display options').click();
    await alicePage.getByLabel('Transactions to show').selectOption('5');
    await alicePage.getByRole('checkbox', { name: 'Description' }).uncheck();
    // The transactions' table: the table of accounts has an IBAN column too.
    const transactions = alicePage.locator('table.transactions');
    await transactions
      .getByRole('columnheader', { name: 'Description' })
      .waitFor({ state: 'detached' });
    await alicePage.getByRole('checkbox', { name: 'IBAN' }).check();
    await transactions.getByRole('columnheader', { name: 'IBAN' }).waitFor();
    for (let i = 0; i < 4; i++) {
      await alicePage.getByRole('button', { name: 'Deposit € 10,00' }).click();
      await alicePage.getByRole('status').filter({ hasText: '€ 10,00 deposited.' }).waitFor();
    }
    await waitForText(alicePage, 'balance', '€ 124,50');
    expect(await row(alicePage).count()).toBe(5);
    await screenshot(alicePage, 'client-display-options');
    await alicePage.getByRole('checkbox', { name: 'Description' }).check();
  });

  let secondIban: string;
  let erinPage: Page;

  it('opens a second account and moves money between the user’s own accounts', async () => {
    await alicePage.getByRole('button', { name: 'Open another account' }).click();
    const opened = alicePage.getByRole('status').filter({ hasText: 'Opened account' });
    await opened.waitFor();
    secondIban = IBAN.exec((await opened.textContent()) ?? '')?.[0] ?? '';
    expect(secondIban).toMatch(IBAN);
    expect(secondIban).not.toBe(aliceIban);
    // Oldest first, each with its balance; the one the user works with stays selected.
    const accounts = alicePage.locator('table.own-accounts tbody tr');
    await ownAccount(alicePage, secondIban).filter({ hasText: '€ 0,00' }).waitFor();
    expect(await accounts.evaluateAll((rows) => rows.map((r) => r.dataset.iban))).toEqual([
      aliceIban,
      secondIban,
    ]);
    await waitForText(alicePage, 'own-iban', aliceIban);

    await alicePage.getByLabel('To one of my accounts').selectOption(secondIban);
    expect(await alicePage.getByLabel('To (IBAN)').inputValue()).toBe(secondIban);
    await alicePage.getByLabel('Amount in euros').fill('20');
    await alicePage.getByRole('textbox', { name: 'Description' }).fill(savings);
    await alicePage.getByRole('button', { name: 'Transfer', exact: true }).click();
    await alicePage
      .getByRole('status')
      .filter({ hasText: `€ 20,00 transferred to ${secondIban}.` })
      .waitFor();
    await ownAccount(alicePage, secondIban).filter({ hasText: '€ 20,00' }).waitFor();
    await ownAccount(alicePage, aliceIban).filter({ hasText: '€ 104,50' }).waitFor();
    await waitForText(alicePage, 'balance', '€ 104,50');
    await row(alicePage, savings, '− € 20,00').waitFor();
    await screenshot(alicePage, 'client-accounts');
  });

  it('shares an account; the other owner sees it, with a token of their own, and uses it', async () => {
    await openAccount(erin.username, erin.password);
    await alicePage.getByRole('button', { name: `Work with ${secondIban}` }).click();
    await waitForText(alicePage, 'own-iban', secondIban);
    await waitForText(alicePage, 'balance', '€ 20,00');

    const shareWith = alicePage.getByLabel('Username to share with');
    await shareWith.fill(`nobody-${run}`);
    await alicePage.getByRole('button', { name: 'Share', exact: true }).click();
    await alicePage
      .getByRole('alert')
      .filter({ hasText: 'There is no user with that name' })
      .filter({ hasText: 'username does not exist' })
      .waitFor();
    await shareWith.fill(erin.username);
    await alicePage.getByRole('button', { name: 'Share', exact: true }).click();
    await alicePage
      .getByRole('status')
      .filter({ hasText: `Shared ${secondIban} with ${erin.username}.` })
      .waitFor();
    await ownAccount(alicePage, secondIban).filter({ hasText: erin.username }).waitFor();
    await waitForText(alicePage, 'owners', `${alice.username}, ${erin.username}`);

    erinPage = await newPage();
    const erinIban = await logIn(erinPage, erin);
    expect(erinIban).not.toBe(secondIban);
    await ownAccount(erinPage, secondIban)
      .filter({ hasText: '€ 20,00' })
      .filter({ hasText: alice.username })
      .waitFor();
    await erinPage.getByRole('button', { name: `Work with ${secondIban}` }).click();
    await waitForText(erinPage, 'own-iban', secondIban);
    await row(erinPage, savings, '+ € 20,00').waitFor();
    await transfer(erinPage, aliceIban, '5', gift);
    await erinPage
      .getByRole('status')
      .filter({ hasText: `€ 5,00 transferred to ${aliceIban}.` })
      .waitFor();
    await ownAccount(erinPage, secondIban).filter({ hasText: '€ 15,00' }).waitFor();
    await row(erinPage, gift, '− € 5,00').waitFor();
    await screenshot(erinPage, 'client-shared');

    // Alice sees both of her accounts change, live.
    await ownAccount(alicePage, secondIban).filter({ hasText: '€ 15,00' }).waitFor();
    await ownAccount(alicePage, aliceIban).filter({ hasText: '€ 109,50' }).waitFor();
    await row(alicePage, gift, '− € 5,00').waitFor();

    const tokenOf = async (user: typeof alice) =>
      (await myAccounts(user)).find((account) => account.iban === secondIban)?.token;
    const [aliceToken, erinToken] = await Promise.all([tokenOf(alice), tokenOf(erin)]);
    expect(aliceToken).toBeTruthy();
    expect(erinToken).toBeTruthy();
    expect(erinToken).not.toBe(aliceToken);
  });

  it('refuses to let the last owner leave an account with money, and says why', async () => {
    await alicePage.getByRole('button', { name: `Work with ${aliceIban}` }).click();
    await waitForText(alicePage, 'own-iban', aliceIban);
    await alicePage.getByRole('button', { name: 'Leave this account' }).click();
    await alicePage.getByRole('button', { name: 'Yes, leave it' }).click();
    await alicePage
      .getByRole('alert')
      .filter({ hasText: 'the last owner can only leave an empty account' })
      .filter({ hasText: LAST_OWNER_WITH_MONEY })
      .waitFor();
    await ownAccount(alicePage, aliceIban).filter({ hasText: '€ 109,50' }).waitFor();
    await screenshot(alicePage, 'client-leave-refused');

    // Another owner can leave: the account stays with Alice.
    await erinPage.getByRole('button', { name: 'Leave this account' }).click();
    await erinPage.getByRole('button', { name: 'Yes, leave it' }).click();
    await erinPage
      .getByRole('status')
      .filter({ hasText: `You left ${secondIban}.` })
      .waitFor();
    await ownAccount(erinPage, secondIban).waitFor({ state: 'detached' });
    expect(await erinPage.locator('table.own-accounts tbody tr').count()).toBe(1);
    const shared = (await myAccounts(alice)).find((account) => account.iban === secondIban);
    expect(shared?.owners).toEqual([alice.username]);
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
    // Both of Alice's accounts, as cards.
    await ownAccount(page, secondIban).filter({ hasText: '€ 15,00' }).waitFor();
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

describe('alerts, the balance over time and accounts as they were', () => {
  const grace = { username: `grace-${run}`, password: 'grace-password' };
  const henk = { username: `henk-${run}`, password: 'henk-password' };
  const payment = `alert ${run}`;
  const later = `later ${run}`;
  let gracePage: Page;
  let graceIban: string;
  let henkAccount: { iban: string; token: string };

  function views(page: Page) {
    return page.getByRole('navigation', { name: 'Views' });
  }

  it('alerts a client on another view, on the page and as a browser notification', async () => {
    gracePage = await newPage(undefined, { notifications: true });
    graceIban = await logIn(gracePage, grace);
    const panel = gracePage.getByRole('region', { name: 'Alerts', exact: true });
    await panel.getByText('Browser notifications are on').waitFor();
    expect(await panel.getByRole('button', { name: 'Enable browser notifications' }).count()).toBe(
      0,
    );
    await panel.getByText('No alerts set on this account.').waitFor();

    // A threshold must be euros; set_alert takes them as cents.
    const kind = panel.getByLabel('Alert me when');
    const threshold = panel.getByLabel('Threshold in euros');
    const setAlert = panel.getByRole('button', { name: 'Set alert' });
    await kind.selectOption('LARGE_DEBIT');
    await threshold.fill('lots');
    await setAlert.click();
    await panel
      .getByRole('alert')
      .filter({ hasText: '“lots” is not an amount in euros' })
      .waitFor();
    await threshold.fill('50');
    await setAlert.click();
    await panel
      .getByRole('status')
      .filter({ hasText: 'Alert set: A debit of € 50,00 or more.' })
      .waitFor();
    const rules = panel.getByRole('list', { name: 'Alerts set on this account' });
    await rules.getByRole('listitem').filter({ hasText: 'A debit of € 50,00 or more' }).waitFor();

    // Money coming in takes no threshold: the field goes.
    await kind.selectOption('ANY_CREDIT');
    expect(await threshold.count()).toBe(0);
    await setAlert.click();
    await rules.getByRole('listitem').filter({ hasText: 'Any money coming in' }).waitFor();

    await panel.getByRole('button', { name: 'Remove alert: A debit of € 50,00 or more' }).click();
    await panel
      .getByRole('status')
      .filter({ hasText: 'Alert removed: A debit of € 50,00 or more.' })
      .waitFor();
    await rules.getByRole('listitem').filter({ hasText: 'A debit of' }).waitFor({
      state: 'detached',
    });
    await rules.getByRole('listitem').filter({ hasText: 'Any money coming in' }).waitFor();

    // On another view of the app, money comes in from another customer.
    await views(gracePage).getByRole('link', { name: 'Home' }).click();
    await gracePage.getByRole('heading', { name: 'Open Bank on Kafka', level: 1 }).waitFor();
    henkAccount = await openAccount(henk.username, henk.password);
    const henkKey = { username: henk.username, token: henkAccount.token };
    await transferByApi(henkKey, 'cash', henkAccount.iban, 10_000, 'deposit');
    await transferByApi(henkKey, henkAccount.iban, graceIban, 1_234, payment);

    const notice = gracePage
      .getByRole('region', { name: 'New alerts' })
      .getByRole('alert')
      .filter({ hasText: 'Money in' })
      .filter({ hasText: graceIban });
    await notice.waitFor();
    // The bank's own words, as the page shows them; the notification says the same.
    const message = (await notice.getByTestId('alert-message').textContent()) ?? '';
    expect(message.trim()).not.toBe('');
    await gracePage.waitForFunction(
      () =>
        ((window as unknown as { __notifications?: unknown[] }).__notifications ?? []).length > 0,
    );
    const notifications = await recordedNotifications(gracePage);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.title).toBe('Open Bank: Money in');
    expect(notifications[0]?.body).toBe(`${message}\n${graceIban}`);
    await screenshot(gracePage, 'client-alerts');

    await notice.getByRole('button', { name: `Dismiss alert: Money in on ${graceIban}` }).click();
    await notice.waitFor({ state: 'detached' });
  });

  it('draws the balance over time, for the period the client picks', async () => {
    await views(gracePage).getByRole('link', { name: 'Client' }).click();
    await waitForText(gracePage, 'own-iban', graceIban);
    await waitForText(gracePage, 'balance', '€ 12,34');
    const chartOver = (period: string) =>
      gracePage.getByRole('img', {
        name: new RegExp(`^Balance of ${graceIban} over the last ${period}: now € 12,34, `),
      });
    const canvas = chartOver('hour').locator('canvas').first();
    await canvas.waitFor();
    expect((await canvas.boundingBox())?.width).toBeGreaterThan(300);

    const periods = gracePage.getByRole('group', { name: 'Period' });
    await periods.getByRole('button', { name: 'Last week' }).click();
    await chartOver('week').locator('canvas').first().waitFor();
    await periods.getByRole('button', { name: 'Last hour' }).click();
    await chartOver('hour').locator('canvas').first().waitFor();
    expect(
      await periods.getByRole('button', { name: 'Last hour' }).getAttribute('aria-pressed'),
    ).toBe('true');
    await screenshot(gracePage, 'client-balance-chart');
  });

  it('shows an employee an account as it was before a later deposit', async () => {
    // A whole second after the payment above (the picker takes seconds), then more money.
    const before = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await sleep(before - Date.now() + 100);
    await transferByApi(
      { username: henk.username, token: henkAccount.token },
      henkAccount.iban,
      graceIban,
      1_000,
      later,
    );
    await waitForText(gracePage, 'balance', '€ 22,34');

    const page = await newPage();
    await logInAsEmployee(page);
    await page.getByRole('heading', { name: 'All accounts' }).waitFor();
    await page.getByLabel('Find IBAN or owner').fill(graceIban);
    await page
      .locator(`table.accounts tr[data-iban="${graceIban}"]`)
      .filter({ hasText: '€ 22,34' })
      .waitFor();
    await page.getByRole('button', { name: `Follow ${graceIban}` }).click();

    const asOf = page.getByRole('region', { name: 'An account as it was' });
    const ibanField = asOf.getByLabel('Account IBAN');
    await expect.poll(() => ibanField.inputValue()).toBe(graceIban);
    // The instant in the page's own time zone, as the picker holds it.
    const local = await page.evaluate(
      (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19),
      before,
    );
    const moment = asOf.getByLabel('As of (your local time)');
    await moment.fill(local);
    await asOf.getByRole('button', { name: 'Show' }).click();
    await asOf.getByTestId('as-of-balance').filter({ hasText: '€ 12,34' }).waitFor();
    const rows = asOf.locator('table.transactions tbody tr');
    await rows.filter({ hasText: payment }).waitFor();
    expect(await rows.filter({ hasText: later }).count()).toBe(0);
    await screenshot(page, 'employee-as-of');

    // Before it was opened, the account did not exist.
    await moment.fill('2020-01-01T00:00');
    await asOf.getByRole('button', { name: 'Show' }).click();
    await asOf
      .getByRole('alert')
      .filter({ hasText: 'opened later, or never' })
      .filter({ hasText: 'iban does not exist' })
      .waitFor();
    expect(await asOf.getByTestId('as-of-balance').count()).toBe(0);
  });
});
