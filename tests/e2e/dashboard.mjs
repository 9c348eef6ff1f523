// Drives Debian's Chromium through playwright-core against a real web server and worker: the signed-out page,
// signing in, an upload of the challenge files, the charts and their tooltips, cancelling a running job, two
// backups, restoring a chosen one, a failed restore, what a failed call and a drifted API look like, and a phone.
//
// Usage: node tests/e2e/dashboard.mjs <base-url> <challenge-dir> <artifacts-dir> <result.json> <job to filter by>
// HIREFLOW_USERNAME and HIREFLOW_PASSWORD sign in. A step that needs the test's hands (holding a table lock,
// damaging a backup file) is asked for as one JSON line on stdout; the test answers with one JSON line on stdin.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const [baseUrl, challengeDir, artifacts, resultPath, filterJob] = process.argv.slice(2);
const JOB_TIMEOUT = 90000;
const TABLES = ["departments", "jobs", "hired_employees"];

const lines = readline.createInterface({ input: process.stdin });
const answers = lines[Symbol.asyncIterator]();
async function ask(step) {
  process.stdout.write(`${JSON.stringify(step)}\n`);
  const { value, done } = await answers.next();
  if (done) throw new Error(`the test did not answer ${JSON.stringify(step)}`);
  return JSON.parse(value);
}

const result = { pageErrors: [], driftErrors: [], requests: [], sent: [] };

function watch(page) {
  page.setDefaultTimeout(20000);
  page.on("pageerror", (error) => result.pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error" && message.text().startsWith("hireflow dashboard:")) result.driftErrors.push(message.text());
  });
  page.on("request", (request) => {
    const url = new URL(request.url());
    result.requests.push(request.url());
    if (request.method() === "POST") result.sent.push({ path: url.pathname, body: request.postData() || "" });
  });
}

const apiCalls = () =>
  result.requests.map((url) => new URL(url)).filter((url) => url.pathname !== "/" && !url.pathname.startsWith("/dashboard/assets/")).map((url) => url.pathname);

async function signIn(page, username, password) {
  await page.fill("#login-username", username);
  await page.fill("#login-password", password);
  await page.click("#login-form button[type='submit']");
}

async function chooseChallengeFiles(page) {
  for (const table of TABLES) await page.setInputFiles(`#upload-form input[name='${table}']`, path.join(challengeDir, `${table}.csv`));
}

async function followedTask(page, message, previous) {
  await page.waitForFunction(
    ([selector, before]) => {
      const id = document.querySelector(selector).dataset.taskId;
      return id && id !== before;
    },
    [message, previous],
  );
  return page.getAttribute(message, "data-task-id");
}

async function ended(page, message, id, state) {
  await page.waitForSelector(`${message}[data-task-id='${id}'][data-state='${state}']`, { timeout: JOB_TIMEOUT });
  return page.textContent(message);
}

const jobRow = (id) => `#jobs-list li[data-task-id='${id}']`;

function jobCounts(page, id) {
  return page.$$eval(`${jobRow(id)} .job-counts li`, (items) =>
    Object.fromEntries(
      items.map((li) => [li.dataset.table, Object.fromEntries([...li.querySelectorAll("[data-count]")].map((c) => [c.dataset.count, Number(c.textContent)]))]),
    ),
  );
}

function readCharts(page) {
  return page.evaluate(() => ({
    year: document.body.dataset.reportYear,
    quarterBars: [...document.querySelectorAll("#quarter-chart rect.bar")].map((bar) => ({
      department: bar.dataset.department,
      quarter: bar.dataset.quarter,
      value: Number(bar.dataset.value),
    })),
    meanBars: [...document.querySelectorAll("#mean-chart rect.hbar")].map((bar) => ({
      department: bar.dataset.department,
      value: Number(bar.dataset.value),
      above: bar.dataset.above === "true",
    })),
    mean: Number(document.getElementById("mean-line").dataset.mean),
    axisTitles: Object.fromEntries(
      ["quarter-chart", "mean-chart"].map((id) => [id, [...document.querySelectorAll(`#${id} text.axis-title`)].map((t) => t.textContent)]),
    ),
    aboveTable: [...document.querySelectorAll("#above-table tbody tr")].map((tr) => [...tr.cells].map((td) => td.textContent)),
    quarterTableRows: document.querySelectorAll("#quarter-table tbody tr").length,
    banner: document.getElementById("report-message").hidden ? "" : document.getElementById("report-message").textContent,
  }));
}

async function tooltip(page) {
  await page.waitForSelector("#chart-tooltip:not([hidden])");
  return page.evaluate(() => {
    const tip = document.getElementById("chart-tooltip");
    const box = tip.getBoundingClientRect();
    return {
      chart: tip.dataset.chart,
      value: tip.querySelector(".tip-value").textContent,
      detail: tip.querySelector(".tip-detail").textContent,
      inViewport: box.left >= 0 && box.right <= document.documentElement.clientWidth,
    };
  });
}

// Whether the page fits its viewport: scroll width, elements past either edge, rendered chart text, job rows.
function layout(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const name = (e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${e.getAttribute("class") ? `.${e.getAttribute("class").split(" ").join(".")}` : ""}`;
    const overflowing = [...document.querySelectorAll("body *")]
      .filter((e) => {
        const box = e.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && (box.left < -1 || box.right > width + 1);
      })
      .map(name);
    const chartText = [...document.querySelectorAll("svg.chart text")]
      .filter((t) => t.getBoundingClientRect().width > 0)
      .map((t) => {
        const svg = t.ownerSVGElement;
        return parseFloat(getComputedStyle(t).fontSize) * (svg.getBoundingClientRect().width / svg.viewBox.baseVal.width);
      });
    const stacked = [...document.querySelectorAll("#jobs-list li.job")].map((li) => {
      const parts = [...li.children].map((c) => c.getBoundingClientRect()).filter((box) => box.height > 0);
      return parts.every((box, i) => i === 0 || box.top >= parts[i - 1].bottom - 1);
    });
    return {
      viewportWidth: width,
      scrollWidth: document.documentElement.scrollWidth,
      overflowing,
      chartTexts: chartText.length,
      smallestChartText: chartText.length ? Math.min(...chartText) : null,
      jobRowsStacked: stacked,
    };
  });
}

// Run `act` with the viewport as tall as the page: a full-page screenshot would resize it while capturing,
// and the pointer would leave the bar whose tooltip the screenshot shows.
async function wholePage(page, act) {
  const viewport = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height });
  try {
    await act();
  } finally {
    await page.setViewportSize(viewport);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  timeout: 30000,
});
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await desktop.newPage();
  watch(page);

  const landing = await page.goto(`${baseUrl}/`, { waitUntil: "load" });
  await page.waitForSelector("body[data-session='signed-out']");
  await page.waitForTimeout(500);
  result.signedOut = await page.evaluate(() => ({
    shownProblems: [...document.querySelectorAll(".banner, .message.error, .job-error")]
      .filter((e) => e.getClientRects().length && e.textContent.trim())
      .map((e) => e.textContent),
    heading: document.getElementById("sign-in-title").textContent,
    instructions: document.getElementById("sign-in").innerText,
    reportsShown: document.getElementById("quarter-chart").getClientRects().length > 0,
  }));
  result.signedOut.status = landing.status();
  result.signedOut.apiCalls = apiCalls();
  await page.screenshot({ path: path.join(artifacts, "dashboard-signed-out.png") });

  await signIn(page, "wrong-user", "wrong-password");
  await page.waitForSelector("#login-message.error");
  result.wrongSignIn = await page.textContent("#login-message");
  await signIn(page, process.env.HIREFLOW_USERNAME, process.env.HIREFLOW_PASSWORD);
  await page.waitForSelector("body[data-report-state='ready']");
  result.signedIn = await page.textContent("#session-name");
  await page.waitForFunction(() => document.getElementById("jobs-message").textContent.length > 0);
  result.emptyJobs = await page.textContent("#jobs-message");

  // An upload of the challenge files, followed to its end; the reports reload when it ends.
  await chooseChallengeFiles(page);
  await page.click("#upload-form button[type='submit']");
  const uploadId = await followedTask(page, "#upload-message", "");
  const uploadMessage = await ended(page, "#upload-message", uploadId, "SUCCESS");
  await page.waitForFunction(() => document.body.dataset.reportState === "ready" && document.querySelector("#quarter-chart rect.bar"));
  await page.waitForSelector(`${jobRow(uploadId)}[data-state='SUCCESS'] a.rejections`);
  const rejectionsLink = await page.textContent(`${jobRow(uploadId)} a.rejections`);
  const download = page.waitForEvent("download");
  await page.click(`${jobRow(uploadId)} a.rejections`);
  const rejections = await download;
  const rejectionsFile = path.join(artifacts, "rejections.csv");
  await rejections.saveAs(rejectionsFile);
  result.upload = {
    id: uploadId,
    message: uploadMessage,
    counts: await jobCounts(page, uploadId),
    cancelButton: (await page.$(`${jobRow(uploadId)} button.cancel`)) !== null,
    rejectionsLink,
    rejectionsName: rejections.suggestedFilename(),
    rejectionsCsv: await readFile(rejectionsFile, "utf8"),
  };

  result.initial = await readCharts(page);
  await page.hover("#quarter-chart rect.bar[data-department='Support'][data-quarter='Q3']");
  result.quarterTip = await tooltip(page);
  await page.hover("#mean-chart rect.hbar[data-department='Support']");
  await page.waitForSelector("#chart-tooltip[data-chart='mean-chart']");
  result.meanTip = await tooltip(page);
  await page.mouse.move(0, 0);

  await page.click("#above-table th[data-key='department']");
  result.aboveByDepartment = await page.$$eval("#above-table tbody tr td:nth-child(2)", (cells) => cells.map((c) => c.textContent));
  await page.click("#above-table th[data-key='hired']");
  await page.click("#above-table th[data-key='hired']");
  result.aboveByHiredDescending = await page.$$eval("#above-table tbody tr td:nth-child(3)", (cells) => cells.map((c) => Number(c.textContent)));
  await page.selectOption("#job-filter", filterJob);
  result.filtered = await readCharts(page);
  await page.click("#quarter-chart g.group[data-department='Support']");
  result.drilledRows = await page.$$eval("#quarter-table tbody tr", (rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent)));
  await page.click("#department-chip");
  await page.selectOption("#job-filter", "");

  const csvDownload = page.waitForEvent("download");
  await page.click("#above-csv");
  const csv = await csvDownload;
  result.csvDownload = { name: csv.suggestedFilename(), failure: await csv.failure() };

  // A second upload, held in PROGRESS by a lock the test takes on hired_employees, cancelled from its row.
  await ask({ do: "hold", table: "hired_employees" });
  await chooseChallengeFiles(page);
  await page.click("#upload-form button[type='submit']");
  const cancelId = await followedTask(page, "#upload-message", uploadId);
  await page.waitForSelector(`${jobRow(cancelId)}[data-state='PROGRESS'] button.cancel`, { timeout: JOB_TIMEOUT });
  result.cancel = { id: cancelId, whileRunning: await jobCounts(page, cancelId) };
  await page.click(`${jobRow(cancelId)} button.cancel`);
  await page.waitForSelector(`${jobRow(cancelId)}[data-cancel-requested='true']`);
  result.cancel.stateWhileCancelling = await page.textContent(`${jobRow(cancelId)} .state`);
  result.cancel.buttonWhileCancelling = (await page.$(`${jobRow(cancelId)} button.cancel`)) !== null;
  await ask({ do: "release", table: "hired_employees" });
  result.cancel.message = await ended(page, "#upload-message", cancelId, "CANCELLED");
  await page.waitForSelector(`${jobRow(cancelId)}[data-state='CANCELLED']`);
  result.cancel.stateAfter = await page.textContent(`${jobRow(cancelId)} .state`);
  result.cancel.buttonAfter = (await page.$(`${jobRow(cancelId)} button.cancel`)) !== null;

  // Two backups, each followed to its end.
  result.backups = [];
  let backupId = "";
  for (let n = 0; n < 2; n += 1) {
    await page.click("#backup-button");
    backupId = await followedTask(page, "#backup-message", backupId);
    result.backups.push({ id: backupId, message: await ended(page, "#backup-message", backupId, "SUCCESS") });
  }

  // Restore jobs from the older backup: the list comes from /backups, and nothing is sent before the confirmation.
  await page.selectOption("#restore-table", "jobs");
  await page.waitForSelector("#restore-form[data-backups='2']");
  const options = await page.$$eval("#restore-backup option", (found) => found.map((o) => ({ value: o.value, label: o.textContent })));
  await page.selectOption("#restore-backup", options[1].value);
  await page.click("#restore-button");
  await page.waitForSelector("#restore-dialog[open]");
  const question = await page.textContent("#restore-question");
  await page.screenshot({ path: path.join(artifacts, "dashboard-restore-dialog.png") });
  await page.click("#restore-keep");
  await page.waitForSelector("#restore-dialog:not([open])", { state: "attached" });
  const sentAfterKeep = result.sent.filter((request) => request.path === "/restore").length;
  await page.click("#restore-button");
  await page.click("#restore-confirm");
  const restoreId = await followedTask(page, "#restore-message", "");
  result.restore = {
    options,
    question,
    sentAfterKeep,
    id: restoreId,
    message: await ended(page, "#restore-message", restoreId, "SUCCESS"),
    sent: result.sent.filter((request) => request.path === "/restore").map((request) => JSON.parse(request.body)),
  };

  // Restore the newest backup after the test damaged its file: the job fails and its row shows why.
  await ask({ do: "damage", table: "jobs", backup_id: options[0].value });
  await page.selectOption("#restore-backup", options[0].value);
  await page.click("#restore-button");
  await page.click("#restore-confirm");
  const failedId = await followedTask(page, "#restore-message", restoreId);
  result.failedRestore = { id: failedId, message: await ended(page, "#restore-message", failedId, "FAILURE") };
  await page.waitForSelector(`${jobRow(failedId)}[data-state='FAILURE'] .job-error`);
  result.failedRestore.rowError = await page.textContent(`${jobRow(failedId)} .job-error`);

  await page.waitForFunction(() => !document.querySelector("#jobs-list li.running"));
  result.desktop = await layout(page);
  await wholePage(page, async () => {
    await page.hover("#quarter-chart rect.bar[data-department='Support'][data-quarter='Q3']");
    await tooltip(page);
    await page.screenshot({ path: path.join(artifacts, "dashboard.png") });
    await page.mouse.move(0, 0);
  });

  // What a phone shows: signed out, then signed in with the same jobs.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const mobile = await phone.newPage();
  watch(mobile);
  await mobile.goto(`${baseUrl}/`, { waitUntil: "load" });
  await mobile.waitForSelector("body[data-session='signed-out']");
  result.phone = { signedOut: await layout(mobile) };
  await signIn(mobile, process.env.HIREFLOW_USERNAME, process.env.HIREFLOW_PASSWORD);
  await mobile.waitForSelector("body[data-report-state='ready']");
  await mobile.waitForFunction(() => document.querySelectorAll("#jobs-list li.job").length >= 6);
  await mobile.waitForSelector("#restore-form[data-backups='2']");
  result.phone.signedIn = await layout(mobile);
  await mobile.tap("#quarter-chart rect.bar[data-department='Support'][data-quarter='Q3']");
  result.phone.tip = await tooltip(mobile);
  await wholePage(mobile, () => mobile.screenshot({ path: path.join(artifacts, "dashboard-phone.png") }));
  await phone.close();

  // A call that fails, a job list that cannot load, and an answer that drifted from the documented shape.
  await page.route("**/backup", (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "unavailable", message: "the broker cannot be reached", details: null } }),
    }),
  );
  await page.click("#backup-button");
  await page.waitForSelector("#backup-message[data-state='error']");
  result.backupFailure = await page.textContent("#backup-message");
  result.driftBeforeTheDriftedAnswer = await page.getAttribute("body", "data-api-drift");

  await page.route("**/task-list?*", (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{}" }));
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#jobs-message.error");
  await page.waitForFunction(() => document.body.dataset.reportState && document.body.dataset.reportState !== "loading");
  result.jobsUnavailable = await page.textContent("#jobs-message");
  result.reportStateWithoutJobs = await page.getAttribute("body", "data-report-state");

  await page.unroute("**/task-list?*");
  await page.unroute("**/backup");

  // A session that ended: first one whose stored expiry passed, then one whose token the server refuses.
  await page.evaluate(() => localStorage.setItem("hireflow.expires_at", "1"));
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("body[data-session='signed-out']");
  result.expired = await page.textContent("#login-message");
  await signIn(page, process.env.HIREFLOW_USERNAME, process.env.HIREFLOW_PASSWORD);
  await page.waitForSelector("body[data-report-state='ready']");
  await page.evaluate(() => localStorage.setItem("hireflow.access_token", "a.forged.token"));
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("body[data-session='signed-out']");
  await page.waitForTimeout(500);
  result.refused = await page.evaluate(() => ({
    message: document.getElementById("login-message").textContent,
    shownProblems: [...document.querySelectorAll(".banner, .message.error, .job-error")]
      .filter((e) => e.getClientRects().length && e.textContent.trim())
      .map((e) => e.textContent),
  }));
  await signIn(page, process.env.HIREFLOW_USERNAME, process.env.HIREFLOW_PASSWORD);
  await page.waitForSelector("body[data-report-state='ready']");
  await page.waitForSelector("#restore-form[data-backups='2']");
  result.afterSignInAgain = await page.evaluate(() =>
    [...document.querySelectorAll(".banner, .message.error")].filter((e) => e.getClientRects().length && e.textContent.trim()).map((e) => e.textContent),
  );

  await page.route("**/task-list?*", async (route) => {
    const answer = await route.fetch();
    const body = await answer.json();
    body.items = body.items.map(({ state, ...rest }) => ({ ...rest, status: state }));
    return route.fulfill({ response: answer, json: body });
  });
  const driftErrorsBefore = result.driftErrors.length;
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("body[data-api-drift='true']");
  result.drift = { banner: await page.textContent("#api-message"), consoleErrors: result.driftErrors.splice(driftErrorsBefore) };
} finally {
  await browser.close();
  lines.close();
  await writeFile(resultPath, JSON.stringify(result));
}
