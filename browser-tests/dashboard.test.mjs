// Browser tests of the dashboard: Debian's chromium driven by playwright-core
// (no browser download), against the three real binaries that
// scripts/check-browser.sh starts. Every wait is for a selector or a URL with
// a deadline; nothing sleeps. Screenshots go to $ARTIFACTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/check-browser.sh)`);
  return value;
};
const base = env("DASHBOARD_URL");
const email = env("TENANT_EMAIL");
const password = env("TENANT_PASSWORD");
const operatorKey = env("OPERATOR_KEY");
const hookUrl = env("HOOK_URL");
const artifacts = env("ARTIFACTS");

// Long enough for a debug build on a busy 2-core machine, short enough to fail fast.
const WAIT_MS = 30_000;

let browser;
let tenant; // the tenant's page (its context keeps the session cookie)
const offOrigin = []; // every request that left the api's origin

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.on("request", (request) => {
    const url = new URL(request.url());
    if (url.origin !== base && url.protocol !== "data:") offOrigin.push(request.url());
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  return page;
}

before(async () => {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    // Root in CI has no user namespace sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  tenant = await newPage();
});

after(async () => {
  await browser?.close();
});

test("a tenant logs in, submits a job, sees it succeed and its path drawn", async () => {
  await tenant.goto(`${base}/dashboard/jobs`);
  await tenant.waitForURL("**/dashboard/login"); // no session yet
  await tenant.fill("input[name=email]", email);
  await tenant.fill("input[name=password]", password);
  await tenant.click("form.card button[type=submit]");
  await tenant.waitForURL("**/dashboard/jobs");

  await tenant.click("a.button[href='/dashboard/jobs/new']");
  const form = "#submit-form";
  for (const [name, value] of Object.entries({
    width: "24", height: "14", start_x: "0", start_y: "0", end_x: "23", end_y: "13",
    blocked_fraction: "0.2", seed: "11",
  })) {
    await tenant.fill(`${form} input[name=${name}]`, value);
  }
  await tenant.click(`${form} button[type=submit]`);
  await tenant.waitForURL(/\/dashboard\/jobs\/[0-9a-f-]{36}$/);
  const id = tenant.url().split("/").pop();

  // The page refreshes itself until the job is done.
  await tenant.waitForSelector("#job [data-status=succeeded]");
  const length = Number(await tenant.textContent("#path-length"));
  assert.ok(length >= 23 + 13, `a path of ${length} steps cannot cross a 24×14 grid`);
  const pathCells = await tenant.locator("svg.grid rect.path").count();
  assert.equal(pathCells, length + 1, "one picture cell per vertex of the path");
  assert.equal(await tenant.locator("svg.grid rect.path.start").count(), 1);
  assert.equal(await tenant.locator("svg.grid rect.path.end").count(), 1);
  assert.ok((await tenant.locator("svg.grid rect.blocked").count()) > 0, "blocked cells are drawn");
  await tenant.locator("figure.path-picture").scrollIntoViewIfNeeded();
  await tenant.screenshot({ path: `${artifacts}/job-detail.png`, fullPage: true });

  await tenant.goto(`${base}/dashboard/jobs?status=succeeded`);
  await tenant.waitForSelector(`tr[data-job="${id}"] [data-status=succeeded]`);
  await tenant.screenshot({ path: `${artifacts}/jobs.png` });
});

test("the tenant sees their verified email and the audit log", async () => {
  // check-browser.sh followed the verification link at registration.
  await tenant.click("header nav a[href='/dashboard/account']");
  await tenant.waitForURL("**/dashboard/account");
  await tenant.waitForSelector("#email-verified[data-verified=true]");
  assert.equal(await tenant.textContent("#email"), email);
  assert.equal(await tenant.locator("#resend-form").count(), 0, "no new link offered");
  await tenant.screenshot({ path: `${artifacts}/account.png` });

  await tenant.click("header nav a[href='/dashboard/audit-log']");
  await tenant.waitForURL("**/dashboard/audit-log");
  const signIn = await tenant.waitForSelector("#audit-log tr[data-action='auth.sign_in']");
  assert.match(await signIn.textContent(), /127\.0\.0\.1/, "the sign-in's address is recorded");
  await tenant.waitForSelector("#audit-log tr[data-action='user.email_verified']");
  await tenant.selectOption("select[name=action]", "auth.");
  await tenant.click("form.filters button[type=submit]");
  await tenant.waitForURL(/action=auth\.$/);
  await tenant.waitForSelector("#audit-log tr[data-action='auth.sign_in']");
  assert.equal(await tenant.locator("#audit-log tr[data-action='user.email_verified']").count(), 0);
  await tenant.screenshot({ path: `${artifacts}/audit-log.png` });
});

test("a webhook endpoint on a closed port shows a failed attempt", async () => {
  await tenant.goto(`${base}/dashboard/webhooks`);
  await tenant.fill("#endpoint-form input[name=url]", hookUrl);
  await tenant.fill("#endpoint-form input[name=description]", "closed port");
  await tenant.click("#endpoint-form button[type=submit]");
  const created = await tenant.waitForSelector("#created-endpoint");
  assert.match(await created.textContent(), /whsec_/, "the secret is shown once");
  const endpoint = await created.getAttribute("data-endpoint");

  await tenant.click(`#endpoints tr[data-endpoint="${endpoint}"] button[type=submit]`);
  await tenant.waitForURL(/\/dashboard\/webhooks\/messages\/[0-9a-f-]{36}$/);
  const attempt = await tenant.waitForSelector("#attempts tr.attempt[data-outcome=failed]");
  assert.match(await attempt.textContent(), /no response/);
  await tenant.screenshot({ path: `${artifacts}/webhook-attempts.png` });
});

test("an operator sees queues and workers", async () => {
  const ops = await newPage();
  await ops.goto(`${base}/dashboard/ops`);
  await ops.waitForURL("**/dashboard/ops/login");
  await ops.fill("input[name=key]", operatorKey);
  await ops.click("form.card button[type=submit]");
  await ops.waitForURL("**/dashboard/ops");
  // The scheduler's first signal and the worker's registration may land
  // after the first render: the page refreshes itself until they show.
  const all = await ops.waitForSelector("#queues tr[data-class=all]");
  // The job of the first test finished seconds ago: the rate counts it.
  assert.ok(Number(await all.getAttribute("data-finished")) >= 1, "finished in the last minute");
  const worker = await ops.waitForSelector("#workers tr[data-worker]");
  assert.match(await worker.textContent(), /cpu/);
  await ops.screenshot({ path: `${artifacts}/fleet.png` });
  await ops.context().close();
});

test("the API docs page renders from vendored assets", async () => {
  const docs = await newPage();
  await docs.goto(`${base}/docs`);
  await docs.waitForSelector(".swagger-ui .info .title");
  await docs.waitForSelector(".opblock-summary-path[data-path='/v1/jobs']");
  await docs.screenshot({ path: `${artifacts}/docs.png` });
  await docs.context().close();
});

test("no page loaded anything from another origin", () => {
  assert.deepEqual(offOrigin, []);
});
