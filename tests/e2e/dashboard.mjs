// Drives Debian's Chromium through playwright-core: loads the dashboard, reads what it drew, saves a screenshot.
// Usage: node tests/e2e/dashboard.mjs <base-url> <screenshot.png> <user-data-dir> [job to filter by]
// The user name and password to sign in with come from HIREFLOW_USERNAME and HIREFLOW_PASSWORD.
import { chromium } from "playwright-core";

const [baseUrl, screenshot, userDataDir, job] = process.argv.slice(2);

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  viewport: { width: 1280, height: 900 },
  timeout: 30000,
});
const result = { pageErrors: [], consoleErrors: [], requests: [] };
try {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
  page.on("pageerror", (error) => result.pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") result.consoleErrors.push(message.text());
  });
  page.on("request", (request) => result.requests.push(request.url()));

  const landing = await page.goto(`${baseUrl}/`, { waitUntil: "load" });
  await page.waitForSelector("body[data-report-state='error']");
  result.beforeSignIn = {
    status: landing.status(),
    banner: await page.textContent("#report-message"),
    loginFormShown: await page.isVisible("#login-form"),
  };
  await page.fill("#login-username", "wrong-user");
  await page.fill("#login-password", "wrong-password");
  await page.click("#login-form button[type='submit']");
  await page.waitForSelector("#login-message.error");
  result.wrongSignIn = await page.textContent("#login-message");
  await page.fill("#login-username", process.env.HIREFLOW_USERNAME);
  await page.fill("#login-password", process.env.HIREFLOW_PASSWORD);
  await page.click("#login-form button[type='submit']");
  await page.waitForSelector("body[data-report-state='ready']");
  result.signedIn = await page.textContent("#login-name");
  const realToken = await page.evaluate(() => localStorage.getItem("hireflow.access_token"));
  await page.waitForFunction(() => document.getElementById("jobs-message").textContent.length > 0);

  const read = () =>
    page.evaluate(() => ({
      year: document.body.dataset.reportYear,
      quarterBars: [...document.querySelectorAll("#quarter-chart rect.bar")].map((bar) => ({
        department: bar.dataset.department,
        quarter: bar.dataset.quarter,
        value: Number(bar.dataset.value),
        height: Number(bar.getAttribute("height")),
      })),
      meanBars: [...document.querySelectorAll("#mean-chart rect.hbar")].map((bar) => ({
        department: bar.dataset.department,
        value: Number(bar.dataset.value),
        above: bar.dataset.above === "true",
        width: Number(bar.getAttribute("width")),
      })),
      mean: Number(document.getElementById("mean-line").dataset.mean),
      aboveTable: [...document.querySelectorAll("#above-table tbody tr")].map((tr) =>
        [...tr.cells].map((td) => td.textContent),
      ),
      quarterTableRows: document.querySelectorAll("#quarter-table tbody tr").length,
      jobsMessage: document.getElementById("jobs-message").textContent,
      banner: document.getElementById("report-message").hidden ? "" : document.getElementById("report-message").textContent,
    }));

  result.initial = await read();
  await page.screenshot({ path: screenshot, fullPage: true });

  await page.click("#above-table th[data-key='department']");
  result.aboveByDepartment = await page.$$eval("#above-table tbody tr td:nth-child(2)", (cells) => cells.map((c) => c.textContent));
  await page.click("#above-table th[data-key='hired']");
  await page.click("#above-table th[data-key='hired']");
  result.aboveByHiredDescending = await page.$$eval("#above-table tbody tr td:nth-child(3)", (cells) => cells.map((c) => Number(c.textContent)));

  if (job) {
    await page.selectOption("#job-filter", job);
    result.filtered = await read();
    await page.click("#quarter-chart g.group[data-department='Support']");
    result.drilledRows = await page.$$eval("#quarter-table tbody tr", (rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent)));
  }

  await page.route("**/task-list", (route) =>
    route.fulfill({
      status: 200,
      contentType: "application/json",
      body: JSON.stringify([
        { id: "5f0c1d2e-upload", kind: "upload", state: "PROGRESS", percent: 42, rows_done: 840 },
        { id: "9a8b7c6d-backup", kind: "backup", state: "SUCCESS", percent: 100, rows_done: 2000 },
      ]),
    }),
  );
  await page.route("**/backup", (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "unavailable", message: "the broker cannot be reached", details: null } }),
    }),
  );
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#jobs-list li.job");
  result.jobs = await page.$$eval("#jobs-list li.job", (items) =>
    items.map((li) => ({
      id: li.dataset.jobId,
      state: li.dataset.state,
      percent: Number(li.dataset.percent),
      width: li.querySelector(".fill").style.width,
    })),
  );
  await page.click("#backup-button");
  await page.waitForSelector("#backup-message.error");
  result.backupMessage = await page.textContent("#backup-message");
  await page.locator(".operations").screenshot({ path: screenshot.replace(/\.png$/, "-jobs.png") });

  const sent = [];
  const accept = (route) => {
    const request = route.request();
    sent.push({
      path: new URL(request.url()).pathname,
      authorization: request.headers()["authorization"] || "",
      contentType: request.headers()["content-type"] || "",
      body: request.postData() || "",
    });
    return route.fulfill({ status: 202, contentType: "application/json", body: JSON.stringify({ id: "77aa88bb-job" }) });
  };
  await page.route("**/upload-files", accept);
  await page.route("**/restore", accept);
  await page.evaluate(() => localStorage.setItem("hireflow.access_token", "token-from-sign-in"));
  await page.setInputFiles("#upload-form input[name='departments']", {
    name: "departments.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("1,Staff\n"),
  });
  await page.setInputFiles("#upload-form input[name='hired_employees']", {
    name: "hired_employees.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("1,Ann,2021-01-01T00:00:00Z,1,1\n"),
  });
  await page.click("#upload-form button[type='submit']");
  await page.waitForSelector("#upload-message.ok");
  await page.selectOption("#restore-table", "jobs");
  await page.click("#restore-form button[type='submit']");
  await page.waitForSelector("#restore-message.ok");
  result.sent = sent;
  result.uploadMessage = await page.textContent("#upload-message");
  await page.evaluate((token) => localStorage.setItem("hireflow.access_token", token), realToken);

  const csvDownload = page.waitForEvent("download");
  await page.click("#above-csv");
  const download = await csvDownload;
  result.csvDownload = { name: download.suggestedFilename(), failure: await download.failure() };

  await page.unroute("**/task-list");
  await page.route("**/task-list", (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{}" }));
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#jobs-message.error");
  await page.waitForFunction(() => document.body.dataset.reportState !== "loading");
  result.jobsUnavailable = await page.textContent("#jobs-message");
  result.reportStateWithoutJobs = await page.getAttribute("body", "data-report-state");
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(result));
