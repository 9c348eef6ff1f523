// Background jobs: the live list (counts, error, rejections download, cancel) and following one job to its end.

import * as api from "./api.js";
import { $, el, formatTime, saveFile, say, shortId } from "./dom.js";

const KIND_LABELS = { ingest: "Load", ingest_part: "Load part", backup: "Backup", restore: "Restore" };
const STATE_LABELS = {
  PENDING: "queued",
  STARTED: "started",
  PROGRESS: "running",
  SUCCESS: "done",
  FAILURE: "failed",
  CANCELLED: "cancelled",
};
// The counts each kind of job reports per table, in the words a row shows them with.
const COUNT_PHRASES = {
  ingest: [
    ["inserted", "inserted"],
    ["already_exists", "already existing"],
    ["rejected", "rejected"],
  ],
  backup: [
    ["backed_up", "backed up"],
    ["rows", "in the table"],
  ],
  restore: [
    ["verified", "checked"],
    ["restored", "restored"],
    ["rows", "in the backup"],
  ],
};
COUNT_PHRASES.ingest_part = COUNT_PHRASES.ingest;
// The totals a status message gives.
const SUMMARY_PHRASES = {
  ...COUNT_PHRASES,
  backup: [["backed_up", "rows backed up"]],
  restore: [["restored", "rows restored"]],
};

const PER_PAGE = 20;
const FAST = 1000;
const SLOW = 5000;
const FOLLOW_EVERY = 700;

const seen = new Map();
const endedListeners = [];
let timer = null;
let polling = false;

export const isRunning = (task) => api.RUNNING_STATES.includes(task.state);
export const kindLabel = (kind) => KIND_LABELS[kind] || kind;
const stateLabel = (task) => (isRunning(task) && task.cancel_requested ? "cancelling" : STATE_LABELS[task.state]);

function total(task, count) {
  return Object.values(task.counts).reduce((sum, counts) => sum + (counts[count] || 0), 0);
}

/** One line for a status message: what the job did so far, or how it ended. */
export function summary(task) {
  const label = kindLabel(task.kind);
  const reference = `(job ${shortId(task.task_id)})`;
  if (task.state === "FAILURE") return `${label} failed ${reference}: ${task.error}`;
  if (task.state === "CANCELLED") return `${label} cancelled ${reference}.`;
  const phrases = SUMMARY_PHRASES[task.kind] || [];
  const counts = phrases.map(([count, words]) => `${total(task, count)} ${words}`).join(", ");
  if (task.state === "SUCCESS") return `${label} done ${reference}${counts ? `: ${counts}` : ""}.`;
  return `${label} ${stateLabel(task)} ${reference}: ${Math.round(task.percent)}%${counts ? `, ${counts}` : ""}`;
}

/** Call listener(task) once for each job seen to end while the page is open. */
export function onEnded(listener) {
  endedListeners.push(listener);
}

function note(task) {
  const before = seen.get(task.task_id);
  seen.set(task.task_id, task.state);
  if (before !== undefined && !api.ENDED_STATES.includes(before) && !isRunning(task)) {
    endedListeners.forEach((listener) => listener(task));
  }
}

function countsList(task) {
  const phrases = COUNT_PHRASES[task.kind] || [];
  const list = el("ul", { class: "job-counts" });
  for (const [table, counts] of Object.entries(task.counts)) {
    const item = el("li", { "data-table": table });
    item.append(el("span", { class: "table-name" }, table));
    phrases.forEach(([count, words], index) => {
      if (index) item.append(document.createTextNode(" · "));
      item.append(el("span", { class: "count", "data-count": count }, String(counts[count] || 0)), document.createTextNode(` ${words}`));
    });
    list.append(item);
  }
  return list;
}

const rejectionsCsv = (task) => ({ path: { task_id: task.task_id }, query: { format: "csv" } });

async function downloadRejections(event, task) {
  event.preventDefault();
  try {
    saveFile(await api.file("rejectionsCsv", rejectionsCsv(task)), `rejections-${task.task_id}.csv`);
  } catch (error) {
    say("jobs-message", `Could not download the rejected rows: ${error.message}`, "error");
  }
}

async function cancel(button, task) {
  button.disabled = true;
  try {
    render(await api.request("cancelTask", { path: { task_id: task.task_id } }));
    say("jobs-message", "");
  } catch (error) {
    say("jobs-message", `Could not cancel job ${shortId(task.task_id)}: ${error.message}`, "error");
    button.disabled = false;
  }
  refresh();
}

function row(task) {
  const running = isRunning(task);
  const kind = running ? "running" : task.state.toLowerCase();
  const item = el("li", {
    class: `job ${kind}`,
    "data-task-id": task.task_id,
    "data-kind": task.kind,
    "data-state": task.state,
    "data-cancel-requested": task.cancel_requested,
  });

  const head = el("div", { class: "job-head" });
  head.append(el("strong", {}, kindLabel(task.kind)), el("code", { title: task.task_id }, shortId(task.task_id)));
  head.append(el("time", { datetime: task.created_at }, formatTime(task.created_at)));
  item.append(head);

  const progress = el("div", { class: "job-progress" });
  const percent = Math.max(0, Math.min(100, task.percent));
  const track = el("div", { class: "track", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": percent });
  const fill = el("div", { class: "fill" });
  fill.style.width = `${percent}%`;
  track.append(fill);
  progress.append(track, el("span", { class: "state" }, `${stateLabel(task)} · ${Math.round(percent)}%`));
  item.append(progress);

  item.append(countsList(task));

  const actions = el("div", { class: "job-actions" });
  const rejected = total(task, "rejected");
  if (rejected > 0) {
    const href = api.address("rejectionsCsv", rejectionsCsv(task));
    const link = el("a", { class: "rejections", href }, `${rejected} rejected ${rejected === 1 ? "row" : "rows"} (CSV)`);
    link.addEventListener("click", (event) => downloadRejections(event, task));
    actions.append(link);
  }
  if (running && !task.cancel_requested) {
    const button = el("button", { type: "button", class: "cancel secondary" }, "Cancel");
    button.addEventListener("click", () => cancel(button, task));
    actions.append(button);
  }
  item.append(actions);

  if (task.state === "FAILURE") item.append(el("p", { class: "job-error" }, task.error));
  item.dataset.signature = JSON.stringify(task);
  return item;
}

// Rows whose job did not change stay in place, so a poll does not take the focus or the pointer away.
function show(tasks) {
  const list = $("jobs-list");
  const shown = new Map([...list.children].map((item) => [item.dataset.taskId, item]));
  tasks.forEach((task, index) => {
    let item = shown.get(task.task_id);
    if (!item || item.dataset.signature !== JSON.stringify(task)) {
      const fresh = row(task);
      if (item) item.replaceWith(fresh);
      item = fresh;
    }
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
  });
  while (list.children.length > tasks.length) list.lastElementChild.remove();
}

function render(task) {
  const item = $("jobs-list").querySelector(`li[data-task-id="${CSS.escape(task.task_id)}"]`);
  if (item) item.replaceWith(row(task));
  note(task);
}

async function poll() {
  clearTimeout(timer);
  if (!polling) return;
  let delay = SLOW;
  try {
    const { items } = await api.request("taskList", { query: { per_page: PER_PAGE } });
    if (!polling) return;
    show(items);
    items.forEach(note);
    say("jobs-message", items.length ? "" : "No jobs yet. Upload files, or start a backup.");
    if (items.some(isRunning)) delay = FAST;
  } catch (error) {
    if (!polling) return;
    say("jobs-message", `The job list is unavailable: ${error.message}`, "error");
    delay = 3 * SLOW;
  }
  timer = setTimeout(poll, document.hidden ? Math.max(delay, 3 * SLOW) : delay);
}

export function refresh() {
  if (polling) poll();
}

export function start() {
  polling = true;
  poll();
}

export function stop() {
  polling = false;
  clearTimeout(timer);
  seen.clear();
  $("jobs-list").replaceChildren();
  say("jobs-message", "");
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follow a job until it ends, showing its summary in `message` (a status element). The message
 * stops following when another job takes it over; resolves to the last state seen.
 */
export async function follow(taskId, message, describe = summary) {
  message.dataset.taskId = taskId;
  if (!seen.has(taskId)) seen.set(taskId, "PENDING");
  refresh();
  for (;;) {
    if (message.dataset.taskId !== taskId || !polling) return null;
    let task;
    try {
      task = await api.request("task", { path: { task_id: taskId } });
    } catch (error) {
      if (message.dataset.taskId !== taskId) return null;
      say(message, `Job ${shortId(taskId)} cannot be followed: ${error.message}`, "error");
      message.dataset.state = "unknown";
      if (error.status === 401 || error.status === 404 || error.code === "drift") return null;
      await pause(5 * FOLLOW_EVERY);
      continue;
    }
    if (message.dataset.taskId !== taskId) return null;
    const ended = !isRunning(task);
    say(message, describe(task), task.state === "SUCCESS" ? "ok" : task.state === "FAILURE" ? "error" : "");
    message.dataset.state = task.state;
    note(task);
    if (ended) {
      refresh();
      return task;
    }
    await pause(FOLLOW_EVERY);
  }
}
