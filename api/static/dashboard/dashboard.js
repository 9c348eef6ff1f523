const QUARTERS = ["Q1", "Q2", "Q3", "Q4"];
const SVG_NS = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "hireflow.access_token";
const USER_KEY = "hireflow.username";
const FINISHED = new Set(["success", "succeeded", "done", "completed", "finished"]);
const FAILED = new Set(["failure", "failed", "error", "revoked", "cancelled", "canceled"]);

const state = {
  year: 2021,
  quarterRows: [],
  above: { mean: 0, rows: [] },
  job: "",
  department: "",
  jobStates: new Map(),
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const headers = new Headers({ Accept: "application/json" });
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const options = { method, headers };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    headers.set("Content-Type", "application/json");
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError("the server cannot be reached", 0);
  }
  if (response.status === 401 && token && path !== "/auth/token") {
    localStorage.removeItem(TOKEN_KEY);
    showLogin();
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(describeFailure(method, path, response, data), response.status);
  return data;
}

function describeFailure(method, path, response, data) {
  const error = data && data.error;
  const route = `${method} ${path.split("?")[0]}`;
  if ((response.status === 404 && (!error || error.code === "not_found")) || response.status === 405) {
    return `this server does not offer ${route} yet`;
  }
  if (response.status === 401) {
    if (error && error.code === "invalid_credentials") return error.message;
    return "sign in first (the server answered 401)";
  }
  if (response.status === 403) return "your account may not do this (403)";
  const message = (error && error.message) || (data && (data.msg || data.message)) || response.statusText;
  return `${message} (HTTP ${response.status})`;
}

function say(id, text, kind = "") {
  const element = $(id);
  element.textContent = text;
  element.className = `message ${kind}`.trim();
}

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function niceScale(maximum, ticks = 5) {
  if (maximum <= 0) return { top: 1, step: 1 };
  const raw = maximum / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const step = Math.max(1, (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10) * magnitude);
  return { top: Math.ceil(maximum / step) * step, step };
}

function wrapWords(text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && (line + " " + word).length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  if (lines.length > 2) return [lines[0], `${lines.slice(1).join(" ").slice(0, width - 1)}…`];
  return lines;
}

function emptyChart(chart, width, height, message) {
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, message));
}

function departmentQuarters(rows, job) {
  const totals = new Map();
  for (const row of rows) {
    if (!totals.has(row.department)) totals.set(row.department, [0, 0, 0, 0]);
    if (job && row.job !== job) continue;
    const counts = totals.get(row.department);
    QUARTERS.forEach((quarter, index) => (counts[index] += row[quarter]));
  }
  return [...totals.entries()].sort((a, b) => byCodePoint(a[0], b[0]));
}

function renderQuarterChart() {
  const chart = $("quarter-chart");
  chart.replaceChildren();
  chart.dataset.year = String(state.year);
  chart.dataset.job = state.job;
  const groups = departmentQuarters(state.quarterRows, state.job);
  const width = 1120;
  const height = 380;
  if (!groups.length) {
    emptyChart(chart, width, 160, `No hires in ${state.year}`);
    return;
  }
  const margin = { top: 20, right: 12, bottom: 58, left: 46 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const { top, step } = niceScale(Math.max(...groups.flatMap(([, counts]) => counts)));
  const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);

  const grid = svg("g", { class: "grid" });
  for (let tick = 0; tick <= top; tick += step) {
    grid.append(svg("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick) }));
    grid.append(svg("text", { x: margin.left - 8, y: y(tick) + 4, "text-anchor": "end" }, String(tick)));
  }
  chart.append(grid);

  const groupWidth = plotWidth / groups.length;
  const barWidth = (groupWidth * 0.8) / QUARTERS.length;
  const labelWidth = Math.max(6, Math.floor(groupWidth / 6.4));
  groups.forEach(([department, counts], index) => {
    const x0 = margin.left + index * groupWidth;
    const group = svg("g", { class: "group", "data-department": department });
    if (department === state.department) group.classList.add("selected");
    group.append(svg("rect", { class: "group-bg", x: x0, y: margin.top, width: groupWidth, height: plotHeight }));
    counts.forEach((value, q) => {
      const x = x0 + groupWidth * 0.1 + q * barWidth;
      const bar = svg("rect", {
        class: `bar q${q + 1}`,
        x: x + 1,
        y: y(value),
        width: Math.max(1, barWidth - 2),
        height: Math.max(0, y(0) - y(value)),
        "data-department": department,
        "data-quarter": QUARTERS[q],
        "data-value": value,
      });
      bar.append(svg("title", {}, `${department} · ${QUARTERS[q]} · ${value} hired`));
      group.append(bar);
      if (barWidth >= 12 && value > 0) {
        const label = { x: x + barWidth / 2, y: y(value) - 3, "text-anchor": "middle", class: "bar-value" };
        group.append(svg("text", label, String(value)));
      }
    });
    const label = svg("text", { x: x0 + groupWidth / 2, y: y(0) + 16, "text-anchor": "middle", class: "department-label" });
    wrapWords(department, labelWidth).forEach((line, number) => {
      label.append(svg("tspan", { x: x0 + groupWidth / 2, dy: number ? 14 : 0 }, line));
    });
    group.append(label);
    group.addEventListener("click", () => {
      state.department = state.department === department ? "" : department;
      renderQuarterChart();
      renderQuarterTable();
    });
    chart.append(group);
  });
  chart.append(svg("line", { class: "axis-base", x1: margin.left, x2: width - margin.right, y1: y(0), y2: y(0) }));
}

function renderMeanChart() {
  const chart = $("mean-chart");
  chart.replaceChildren();
  const mean = state.above.mean;
  chart.dataset.year = String(state.year);
  chart.dataset.mean = String(mean);
  const departments = departmentQuarters(state.quarterRows, "")
    .map(([department, counts]) => ({ department, hired: counts.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.hired - a.hired || byCodePoint(a.department, b.department));
  const width = 1120;
  if (!departments.length) {
    emptyChart(chart, width, 120, `No hires in ${state.year}`);
    return;
  }
  const margin = { top: 30, right: 60, bottom: 26, left: 210 };
  const rowHeight = 26;
  const height = margin.top + departments.length * rowHeight + margin.bottom;
  const plotWidth = width - margin.left - margin.right;
  const { top, step } = niceScale(Math.max(mean, ...departments.map((d) => d.hired)));
  const x = (value) => margin.left + (value / top) * plotWidth;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);

  const grid = svg("g", { class: "grid" });
  for (let tick = 0; tick <= top; tick += step) {
    grid.append(svg("line", { x1: x(tick), x2: x(tick), y1: margin.top - 6, y2: height - margin.bottom }));
    grid.append(svg("text", { x: x(tick), y: height - 8, "text-anchor": "middle" }, String(tick)));
  }
  chart.append(grid);

  departments.forEach(({ department, hired }, index) => {
    const yTop = margin.top + index * rowHeight;
    const above = hired > mean;
    const row = svg("g", { class: "hrow" });
    row.append(svg("text", { x: margin.left - 10, y: yTop + rowHeight / 2 + 4, "text-anchor": "end", class: "department-label" }, department));
    const bar = svg("rect", {
      class: `hbar ${above ? "above" : "below"}`,
      x: margin.left,
      y: yTop + 4,
      width: Math.max(0, x(hired) - margin.left),
      height: rowHeight - 8,
      "data-department": department,
      "data-value": hired,
      "data-above": above,
    });
    bar.append(svg("title", {}, `${department}: ${hired} hired (${above ? "above" : "not above"} the mean)`));
    row.append(bar);
    row.append(svg("text", { x: x(hired) + 6, y: yTop + rowHeight / 2 + 4, class: "bar-value" }, String(hired)));
    chart.append(row);
  });

  const meanX = x(mean);
  chart.append(svg("line", { id: "mean-line", class: "mean-line", x1: meanX, x2: meanX, y1: margin.top - 8, y2: height - margin.bottom, "data-mean": mean }));
  chart.append(svg("text", { x: meanX, y: margin.top - 12, "text-anchor": "middle", class: "mean-label" }, `mean ${mean.toFixed(2)}`));
}

const tables = new Map();

function setUpSortable(table) {
  const view = { key: null, direction: 1, rows: [] };
  tables.set(table.id, view);
  table.querySelectorAll("th").forEach((header) => {
    header.tabIndex = 0;
    const sortBy = () => {
      view.direction = view.key === header.dataset.key ? -view.direction : 1;
      view.key = header.dataset.key;
      table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", view.direction === 1 ? "ascending" : "descending");
      fillTable(table);
    };
    header.addEventListener("click", sortBy);
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortBy();
      }
    });
  });
}

function fillTable(table, rows) {
  const view = tables.get(table.id);
  if (rows) view.rows = rows;
  const columns = [...table.querySelectorAll("th")].map((th) => ({ key: th.dataset.key, type: th.dataset.type }));
  let shown = view.rows;
  if (view.key) {
    const { key, direction } = view;
    const numeric = columns.find((c) => c.key === key).type === "number";
    shown = [...view.rows].sort((a, b) => direction * (numeric ? a[key] - b[key] : byCodePoint(a[key], b[key])));
  }
  const body = document.createElement("tbody");
  for (const row of shown) {
    const tr = el("tr");
    for (const column of columns) {
      tr.append(el("td", column.type === "number" ? { class: "number" } : {}, String(row[column.key])));
    }
    body.append(tr);
  }
  if (!shown.length) {
    const tr = el("tr");
    tr.append(el("td", { colspan: String(columns.length), class: "muted" }, "No rows"));
    body.append(tr);
  }
  table.tBodies[0].replaceWith(body);
}

function renderQuarterTable() {
  const rows = state.quarterRows
    .filter((row) => (!state.job || row.job === state.job) && (!state.department || row.department === state.department))
    .map((row) => ({ ...row, total: row.Q1 + row.Q2 + row.Q3 + row.Q4 }));
  const chip = $("department-chip");
  chip.hidden = !state.department;
  chip.textContent = state.department ? `${state.department} ✕` : "";
  fillTable($("quarter-table"), rows);
}

function renderJobFilter() {
  const select = $("job-filter");
  const jobs = [...new Set(state.quarterRows.map((row) => row.job))].sort(byCodePoint);
  if (!jobs.includes(state.job)) state.job = "";
  select.replaceChildren(el("option", { value: "" }, `All jobs (${jobs.length})`));
  for (const job of jobs) select.append(el("option", { value: job }, job));
  select.value = state.job;
}

function renderAbove() {
  $("mean-value").textContent = `· mean ${state.above.mean.toFixed(2)} hires per department in ${state.year}`;
  fillTable($("above-table"), state.above.rows);
}

async function loadReports() {
  const year = state.year;
  document.body.dataset.reportState = "loading";
  $("quarter-csv").href = `/report/hired-by-quarter?year=${year}&format=csv`;
  $("above-csv").href = `/report/hiring-above-average?year=${year}&format=csv`;
  const [quarters, above] = await Promise.allSettled([
    call("GET", `/report/hired-by-quarter?year=${year}`),
    call("GET", `/report/hiring-above-average?year=${year}`),
  ]);
  if (year !== state.year) return;
  const problems = [];
  if (quarters.status === "fulfilled") {
    state.quarterRows = quarters.value.rows;
  } else {
    state.quarterRows = [];
    problems.push(`hires per quarter: ${quarters.reason.message}`);
  }
  if (above.status === "fulfilled") {
    state.above = above.value;
  } else {
    state.above = { mean: 0, rows: [] };
    problems.push(`hiring above the mean: ${above.reason.message}`);
  }
  if (!state.quarterRows.some((row) => row.department === state.department)) state.department = "";
  renderJobFilter();
  renderQuarterChart();
  renderQuarterTable();
  renderMeanChart();
  renderAbove();
  const banner = $("report-message");
  banner.hidden = !problems.length;
  banner.textContent = problems.length ? `Could not load ${problems.join("; ")}` : "";
  document.body.dataset.reportYear = String(year);
  document.body.dataset.reportState = problems.length ? "error" : "ready";
}

function jobItems(body) {
  const items = Array.isArray(body) ? body : (body && (body.items || body.tasks || body.jobs)) || [];
  return items.map((item) => ({ ...item, id: item.id || item.task_id }));
}

function renderJobs(items) {
  const list = $("jobs-list");
  list.replaceChildren();
  for (const item of items) {
    const status = String(item.state || "unknown").toLowerCase();
    const percent = Math.max(0, Math.min(100, Number(item.percent) || (FINISHED.has(status) ? 100 : 0)));
    const kind = FINISHED.has(status) ? "success" : FAILED.has(status) ? "failure" : "running";
    const li = el("li", { class: `job ${kind}`, "data-job-id": String(item.id), "data-state": status, "data-percent": String(percent) });
    const rows = item.rows_done === undefined ? "" : ` · ${item.rows_done} rows`;
    li.append(el("span", { title: String(item.id) }, `${item.kind || "job"} · ${String(item.id).slice(0, 8)}${rows}`));
    const track = el("div", { class: "track", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) });
    const fill = el("div", { class: "fill" });
    fill.style.width = `${percent}%`;
    track.append(fill);
    li.append(track);
    li.append(el("span", { class: "state" }, `${status} · ${Math.round(percent)}%`));
    list.append(li);
  }
}

let pollTimer = null;

async function pollJobs() {
  clearTimeout(pollTimer);
  let delay = 5000;
  try {
    const items = jobItems(await call("GET", "/task-list"));
    renderJobs(items);
    say("jobs-message", items.length ? "" : "No jobs yet.");
    let finishedNow = false;
    let running = false;
    for (const item of items) {
      const status = String(item.state || "").toLowerCase();
      const before = state.jobStates.get(item.id);
      if (FINISHED.has(status) && before !== undefined && !FINISHED.has(before)) finishedNow = true;
      if (!FINISHED.has(status) && !FAILED.has(status)) running = true;
      state.jobStates.set(item.id, status);
    }
    if (finishedNow) loadReports();
    delay = running ? 1500 : 5000;
  } catch (error) {
    say("jobs-message", `Job list unavailable: ${error.message}`, "error");
    delay = 15000;
  }
  pollTimer = setTimeout(pollJobs, document.hidden ? Math.max(delay, 15000) : delay);
}

function jobReference(body) {
  const id = body && (body.id || body.task_id || body.job_id);
  return id ? ` (job ${String(id).slice(0, 8)})` : "";
}

async function runAction(button, messageId, pending, action, done) {
  button.disabled = true;
  say(messageId, pending);
  try {
    const body = await action();
    say(messageId, `${done}${jobReference(body)}`, "ok");
    pollJobs();
  } catch (error) {
    say(messageId, `Failed: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

function setUpOperations() {
  $("upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData();
    for (const name of ["departments", "jobs", "hired_employees"]) {
      const file = form.elements[name].files[0];
      if (file) data.append(name, file, file.name);
    }
    if (![...data.keys()].length) {
      say("upload-message", "Choose at least one CSV file.", "error");
      return;
    }
    const button = form.querySelector("button");
    runAction(button, "upload-message", "Uploading…", () => call("POST", "/upload-files", data), "Upload accepted");
  });
  $("backup-button").addEventListener("click", (event) => {
    runAction(event.currentTarget, "backup-message", "Starting…", () => call("POST", "/backup", {}), "Backup started");
  });
  $("restore-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const table = $("restore-table").value;
    const button = event.currentTarget.querySelector("button");
    runAction(button, "restore-message", "Starting…", () => call("POST", "/restore", { table }), `Restore of ${table} started`);
  });
}

// A plain link cannot send the bearer token, so the CSV buttons fetch the file and hand it to the browser.
async function downloadCsv(event) {
  event.preventDefault();
  const link = event.currentTarget;
  const headers = new Headers({ Accept: "text/csv" });
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const banner = $("report-message");
  try {
    const response = await fetch(link.href, { headers });
    if (!response.ok) {
      let data = null;
      try {
        data = await response.json();
      } catch {
        data = null;
      }
      throw new ApiError(describeFailure("GET", new URL(link.href).pathname, response, data), response.status);
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "report.csv";
    const url = URL.createObjectURL(await response.blob());
    const save = el("a", { href: url, download: name });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    banner.hidden = false;
    banner.textContent = `Could not download the CSV: ${error.message}`;
  }
}

function showLogin() {
  const token = localStorage.getItem(TOKEN_KEY);
  $("login-form").hidden = Boolean(token);
  $("login-state").hidden = !token;
  $("login-name").textContent = token ? `Signed in as ${localStorage.getItem(USER_KEY) || "user"}` : "";
}

function setUpLogin() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("login-username").value;
    const password = $("login-password").value;
    try {
      const body = await call("POST", "/auth/token", { username, password });
      if (!body || !body.access_token) throw new ApiError("the server sent no access_token", 200);
      localStorage.setItem(TOKEN_KEY, body.access_token);
      localStorage.setItem(USER_KEY, username);
      $("login-password").value = "";
      say("login-message", "");
      showLogin();
      loadReports();
      pollJobs();
    } catch (error) {
      say("login-message", `Sign-in failed: ${error.message}`, "error");
    }
  });
  $("logout").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
    showLogin();
  });
  showLogin();
}

function setUpYear() {
  const fromUrl = Number(new URLSearchParams(location.search).get("year"));
  if (Number.isInteger(fromUrl) && fromUrl >= 1900 && fromUrl <= 2100) state.year = fromUrl;
  $("year").value = String(state.year);
  $("year-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const year = Number($("year").value);
    if (!Number.isInteger(year) || year < 1900 || year > 2100) {
      $("year").reportValidity();
      return;
    }
    state.year = year;
    history.replaceState(null, "", `?year=${year}`);
    loadReports();
  });
}

function start() {
  setUpYear();
  setUpLogin();
  setUpOperations();
  $("quarter-csv").addEventListener("click", downloadCsv);
  $("above-csv").addEventListener("click", downloadCsv);
  setUpSortable($("quarter-table"));
  setUpSortable($("above-table"));
  $("job-filter").addEventListener("change", (event) => {
    state.job = event.currentTarget.value;
    renderQuarterChart();
    renderQuarterTable();
  });
  $("department-chip").addEventListener("click", () => {
    state.department = "";
    renderQuarterChart();
    renderQuarterTable();
  });
  const legend = $("quarter-legend");
  QUARTERS.forEach((quarter, index) => {
    const item = el("span");
    item.append(el("i", { class: `q${index + 1}` }), document.createTextNode(quarter));
    legend.append(item);
  });
  loadReports();
  pollJobs();
}

start();
