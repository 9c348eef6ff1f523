// The two reports: hires per quarter (chart, job filter, department drill-down, table) and departments
// against the mean (chart, table), each with its CSV download.

import * as api from "./api.js";
import { attachTooltip, barChart, columnChart, drawEmpty, isNarrow, watchWidth } from "./charts.js";
import { $, byCodePoint, el, saveFile } from "./dom.js";
import { fillTable, makeSortable } from "./tables.js";

const QUARTERS = ["Q1", "Q2", "Q3", "Q4"];
const MIN_YEAR = 1900;
const MAX_YEAR = 2100;

const state = {
  year: 2021,
  quarterRows: [],
  above: { mean: 0, rows: [] },
  job: "",
  department: "",
};
const redraw = {};

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

const hires = (count) => `${count} ${count === 1 ? "hire" : "hires"}`;

function selectDepartment(department) {
  state.department = state.department === department ? "" : department;
  redraw.quarters();
  renderQuarterTable();
}

function drawQuarterChart(width) {
  const chart = $("quarter-chart");
  chart.dataset.year = String(state.year);
  chart.dataset.job = state.job;
  const departments = departmentQuarters(state.quarterRows, state.job);
  if (!departments.length) {
    drawEmpty(chart, width, `No hires in ${state.year}`);
    return;
  }
  const jobNote = state.job ? ` as ${state.job}` : "";
  const segments = (department, counts) =>
    counts.map((value, index) => ({
      value,
      className: `bar q${index + 1}`,
      data: { department, quarter: QUARTERS[index] },
      tip: { value: hires(value), detail: `${department}${jobNote} · ${QUARTERS[index]} ${state.year}` },
    }));
  const options = { selected: state.department, onSelect: selectDepartment };
  if (isNarrow(width)) {
    const rows = departments.map(([department, counts]) => ({ key: department, label: department, data: { department }, segments: segments(department, counts) }));
    barChart(chart, width, { ...options, rows, rowClass: "group", titles: { x: `Hires in ${state.year}, Q1 to Q4 stacked`, y: "Department" } });
  } else {
    const groups = departments.map(([department, counts]) => ({ key: department, label: department, data: { department }, bars: segments(department, counts) }));
    columnChart(chart, width, { ...options, groups, titles: { x: "Department", y: `Hires in ${state.year}` } });
  }
}

function drawMeanChart(width) {
  const chart = $("mean-chart");
  const { mean } = state.above;
  chart.dataset.year = String(state.year);
  chart.dataset.mean = String(mean);
  const departments = departmentQuarters(state.quarterRows, "")
    .map(([department, counts]) => ({ department, hired: counts.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.hired - a.hired || byCodePoint(a.department, b.department));
  if (!departments.length) {
    drawEmpty(chart, width, `No hires in ${state.year}`);
    return;
  }
  const rows = departments.map(({ department, hired }) => {
    const above = hired > mean;
    const side = above ? "above" : "not above";
    return {
      key: department,
      label: department,
      data: { department },
      segments: [
        {
          value: hired,
          className: `hbar ${above ? "above" : "below"}`,
          data: { department, above },
          tip: { value: hires(hired), detail: `${department} · ${state.year} · ${side} the mean of ${mean.toFixed(2)}` },
        },
      ],
    };
  });
  const marker = { value: mean, label: `mean ${mean.toFixed(2)}`, attributes: { id: "mean-line", "data-mean": mean } };
  barChart(chart, width, { rows, marker, rowClass: "hrow", titles: { x: `Hires in ${state.year}`, y: "Department" } });
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

function renderAll() {
  renderJobFilter();
  redraw.quarters();
  renderQuarterTable();
  redraw.mean();
  $("mean-value").textContent = `· mean ${state.above.mean.toFixed(2)} hires per department in ${state.year}`;
  fillTable($("above-table"), state.above.rows);
}

function showProblem(text) {
  const banner = $("report-message");
  banner.hidden = !text;
  banner.textContent = text;
}

export async function load() {
  const year = state.year;
  document.body.dataset.reportState = "loading";
  $("quarter-csv").href = api.address("hiredByQuarterCsv", { query: { year, format: "csv" } });
  $("above-csv").href = api.address("hiringAboveAverageCsv", { query: { year, format: "csv" } });
  const [quarters, above] = await Promise.allSettled([
    api.request("hiredByQuarter", { query: { year } }),
    api.request("hiringAboveAverage", { query: { year } }),
  ]);
  if (year !== state.year || document.body.dataset.session !== "signed-in") return;
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
  renderAll();
  showProblem(problems.length ? `Could not load ${problems.join("; ")}` : "");
  document.body.dataset.reportYear = String(year);
  document.body.dataset.reportState = problems.length ? "error" : "ready";
}

export function clear() {
  state.quarterRows = [];
  state.above = { mean: 0, rows: [] };
  state.department = "";
  showProblem("");
  delete document.body.dataset.reportState;
}

async function download(event, operation, name) {
  event.preventDefault();
  try {
    saveFile(await api.file(operation, { query: { year: state.year, format: "csv" } }), `${name}-${state.year}.csv`);
  } catch (error) {
    showProblem(`Could not download the CSV: ${error.message}`);
  }
}

function setUpYear() {
  const fromUrl = Number(new URLSearchParams(location.search).get("year"));
  if (Number.isInteger(fromUrl) && fromUrl >= MIN_YEAR && fromUrl <= MAX_YEAR) state.year = fromUrl;
  $("year").value = String(state.year);
  $("year-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const year = Number($("year").value);
    if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR) {
      $("year").reportValidity();
      return;
    }
    state.year = year;
    history.replaceState(null, "", `?year=${year}`);
    load();
  });
}

export function setUp() {
  setUpYear();
  makeSortable($("quarter-table"));
  makeSortable($("above-table"));
  redraw.quarters = watchWidth($("quarter-chart").parentElement, drawQuarterChart);
  redraw.mean = watchWidth($("mean-chart").parentElement, drawMeanChart);
  attachTooltip($("quarter-chart"), $("chart-tooltip"));
  attachTooltip($("mean-chart"), $("chart-tooltip"));
  $("quarter-csv").addEventListener("click", (event) => download(event, "hiredByQuarterCsv", "hired-by-quarter"));
  $("above-csv").addEventListener("click", (event) => download(event, "hiringAboveAverageCsv", "hiring-above-average"));
  $("job-filter").addEventListener("change", (event) => {
    state.job = event.currentTarget.value;
    redraw.quarters();
    renderQuarterTable();
  });
  $("department-chip").addEventListener("click", () => selectDepartment(state.department));
  const legend = $("quarter-legend");
  QUARTERS.forEach((quarter, index) => {
    const item = el("span");
    item.append(el("i", { class: `q${index + 1}` }), document.createTextNode(quarter));
    legend.append(item);
  });
}
