// The browser side of the test: Chromium pages that record what the test checks at the end
// (Content-Security-Policy violations, every token the endpoint handed out), and the steps a user
// takes in the app.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type Request,
  type Response,
} from 'playwright-core';
import { expect } from 'vitest';
import type { User } from './api';

export const FRONTEND = process.env.OPEN_BANK_FRONTEND_URL ?? 'http://127.0.0.1:8181';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

export const EMPLOYEE = {
  username: process.env.EMPLOYEE_USERNAME ?? 'employee',
  password: process.env.EMPLOYEE_PASSWORD ?? '',
};

let browser: Browser | undefined;
const contexts: BrowserContext[] = [];

/** Every `securitypolicyviolation` event of every page, as the pages reported them. */
export const cspViolations: unknown[] = [];

/** Every token (session or account key) any answer of the endpoint carried to a page. */
export const handedOutTokens = new Set<string>();

export async function launchBrowser(): Promise<void> {
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
}

export async function closeBrowser(): Promise<void> {
  for (const context of contexts) await context.close();
  await browser?.close();
}

/**
 * Reports Content-Security-Policy violations to the test as they happen, from the first script
 * of every document on: a policy that blocks something the app needs would show up here.
 */
const REPORT_CSP_VIOLATIONS = `
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__reportCspViolation({
      page: location.href,
      directive: event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample,
    });
  });
`;

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

export interface RecordedNotification {
  title: string;
  body: string;
  tag: string;
}

export async function recordedNotifications(page: Page): Promise<RecordedNotification[]> {
  return page.evaluate(
    () => (window as unknown as { __notifications?: RecordedNotification[] }).__notifications ?? [],
  );
}

/** The operationName urql sends with every request (`Login`, `MyAccounts`, …). */
export function operationOf(request: Request): string | null {
  if (request.method() !== 'POST') return null;
  try {
    const body = request.postDataJSON() as { operationName?: unknown } | null;
    return typeof body?.operationName === 'string' ? body.operationName : null;
  } catch {
    return null;
  }
}

function collectTokens(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) collectTokens(item);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'token' && typeof inner === 'string' && inner !== '') handedOutTokens.add(inner);
      else collectTokens(inner);
    }
  }
}

async function recordTokens(response: Response): Promise<void> {
  if (operationOf(response.request()) === null) return;
  try {
    collectTokens(await response.json());
  } catch {
    // Not JSON (an error page): no tokens in it.
  }
}

export async function newPage(
  viewport = { width: 1280, height: 900 },
  { notifications = false } = {},
): Promise<Page> {
  if (browser === undefined) throw new Error('launchBrowser() first');
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  await context.exposeBinding('__reportCspViolation', (_source, violation: unknown) => {
    cspViolations.push(violation);
  });
  await context.addInitScript({ content: REPORT_CSP_VIOLATIONS });
  if (notifications) {
    await context.grantPermissions(['notifications'], { origin: new URL(FRONTEND).origin });
    await context.addInitScript({ content: RECORD_NOTIFICATIONS });
  }
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  page.on('response', (response) => void recordTokens(response));
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * The token of the session the endpoint answers to the request `act` causes: `Login`,
 * `EmployeeLogin` or `RefreshSession`. The app keeps it in memory only; the test reads it off the
 * wire to check that it ends when it should.
 */
export async function sessionTokenOf(
  page: Page,
  operation: 'Login' | 'EmployeeLogin' | 'RefreshSession',
  act: () => Promise<void>,
): Promise<string> {
  const answered = page.waitForResponse(
    (response) => operationOf(response.request()) === operation,
  );
  await act();
  const body = (await (await answered).json()) as {
    data?: Record<string, { token?: string | null } | null> | null;
  };
  const field = {
    Login: 'login',
    EmployeeLogin: 'employee_login',
    RefreshSession: 'refresh_session',
  }[operation];
  const token = body.data?.[field]?.token;
  expect(token, JSON.stringify(body)).toBeTruthy();
  return token ?? '';
}

/** Fills the client view's login form (on the view already shown). */
async function fillLogin(page: Page, user: User): Promise<void> {
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
}

/** Logs in on the client view of a new page; the IBAN of the account shown (the oldest). */
export async function logIn(page: Page, user: User): Promise<string> {
  await page.goto(`${FRONTEND}/#/client`);
  await fillLogin(page, user);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  return shownIban(page);
}

/** Opens an account for a new user on the client view (get_account, then login). */
export async function signUpInBrowser(page: Page, user: User): Promise<string> {
  await page.goto(`${FRONTEND}/#/client`);
  await fillLogin(page, user);
  await page.getByRole('button', { name: 'Open an account', exact: true }).click();
  return shownIban(page);
}

async function shownIban(page: Page): Promise<string> {
  const iban = page.getByTestId('own-iban');
  await iban.waitFor();
  return (await iban.textContent()) ?? '';
}

/** Goes to a view with the navigation, without loading the page again (which logs out). */
export async function openView(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

/** Fills the employee login on the view already shown (Employee or Operations). */
export async function fillEmployeeLogin(page: Page, password = EMPLOYEE.password): Promise<void> {
  expect(EMPLOYEE.password, 'set EMPLOYEE_PASSWORD to the endpoint’s employee password').not.toBe(
    '',
  );
  await page.getByLabel('Employee username').fill(EMPLOYEE.username);
  await page.getByLabel('Employee password').fill(password);
  await page.getByRole('button', { name: 'Log in as employee' }).click();
}

/** Logs in as employee on the Employee view of a new page. */
export async function logInAsEmployee(page: Page, password = EMPLOYEE.password): Promise<void> {
  await page.goto(`${FRONTEND}/#/employee`);
  await fillEmployeeLogin(page, password);
}

export async function transfer(page: Page, to: string, amount: string, descr: string) {
  await page.getByLabel('To (IBAN)').fill(to);
  await page.getByLabel('Amount in euros').fill(amount);
  await page.getByRole('textbox', { name: 'Description' }).fill(descr);
  await page.getByRole('button', { name: 'Transfer', exact: true }).click();
}

export async function waitForText(page: Page, testId: string, text: string): Promise<void> {
  await page.getByTestId(testId).filter({ hasText: text }).waitFor();
}

export function row(page: Page, ...texts: string[]) {
  let rows = page.locator('table.transactions tbody tr');
  for (const text of texts) rows = rows.filter({ hasText: text });
  return rows;
}

/** A row of the client's own accounts. */
export function ownAccount(page: Page, iban: string) {
  return page.locator(`table.own-accounts tr[data-iban="${iban}"]`);
}

/** Every key and value in the page's localStorage and sessionStorage. */
export async function webStorage(
  page: Page,
): Promise<{ where: string; key: string; value: string }[]> {
  return page.evaluate(() => {
    const entries: { where: string; key: string; value: string }[] = [];
    for (const [where, storage] of [
      ['localStorage', localStorage],
      ['sessionStorage', sessionStorage],
    ] as const) {
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i) ?? '';
        entries.push({ where, key, value: storage.getItem(key) ?? '' });
      }
    }
    return entries;
  });
}

/** How long until the session shown in `testId` (a `<time dateTime>`) expires, by the page's clock. */
export async function msUntilShownExpiry(page: Page, testId: string): Promise<number> {
  const expiresAt = await page.getByTestId(testId).getAttribute('datetime');
  const now = await page.evaluate(() => Date.now());
  const left = Date.parse(expiresAt ?? '') - now;
  expect(left, `${testId}: ${expiresAt}`).toBeGreaterThan(0);
  return left;
}
