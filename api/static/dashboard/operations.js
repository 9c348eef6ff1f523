// Uploads, backups and restores: each starts a job, and its status line follows the job to its end.

import * as api from "./api.js";
import { $, el, formatTime, say } from "./dom.js";
import * as jobs from "./jobs.js";

let backups = [];

async function run(button, message, pending, call, describe) {
  button.disabled = true;
  delete message.dataset.taskId;
  message.dataset.state = "sending";
  say(message, pending);
  let created;
  try {
    created = await call();
  } catch (error) {
    say(message, `Failed: ${error.message}`, "error");
    message.dataset.state = "error";
    return;
  } finally {
    button.disabled = false;
  }
  await jobs.follow(created.task_id, message, describe);
}

function setUpUpload() {
  $("upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData();
    for (const table of api.TABLES) {
      const file = form.elements[table].files[0];
      if (file) data.append(table, file, file.name);
    }
    if (![...data.keys()].length) {
      say("upload-message", "Choose at least one CSV file.", "error");
      return;
    }
    const button = form.querySelector("button[type='submit']");
    run(button, $("upload-message"), "Uploading…", () => api.request("uploadFiles", { form: data }));
  });
}

function setUpBackup() {
  $("backup-button").addEventListener("click", (event) => {
    run(event.currentTarget, $("backup-message"), "Starting a backup…", () => api.request("backup"));
  });
}

function backupLabel(backup, index) {
  return `${formatTime(backup.created, { short: true })} · ${backup.rows} rows${index === 0 ? " · newest" : ""}`;
}

/** List the chosen table's backups, newest first, in the restore form. */
export async function loadBackups() {
  const table = $("restore-table").value;
  const select = $("restore-backup");
  const form = $("restore-form");
  select.disabled = $("restore-button").disabled = true;
  form.dataset.backups = "loading";
  let found;
  try {
    found = await api.request("backups", { query: { table } });
  } catch (error) {
    if ($("restore-table").value !== table || document.body.dataset.session !== "signed-in") return;
    backups = [];
    select.replaceChildren(el("option", { value: "" }, "The backups cannot be listed"));
    say("restore-message", `Could not list the backups of ${table}: ${error.message}`, "error");
    form.dataset.backups = "error";
    return;
  }
  if ($("restore-table").value !== table) return;
  backups = found;
  if (!backups.length) {
    select.replaceChildren(el("option", { value: "" }, `No backup of ${table} yet`));
  } else {
    const chosen = select.value;
    select.replaceChildren(...backups.map((backup, index) => el("option", { value: backup.id }, backupLabel(backup, index))));
    if (backups.some((backup) => backup.id === chosen)) select.value = chosen;
    select.disabled = $("restore-button").disabled = false;
  }
  form.dataset.backups = String(backups.length);
}

function setUpRestore() {
  const dialog = $("restore-dialog");
  $("restore-table").addEventListener("change", loadBackups);
  $("restore-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const table = $("restore-table").value;
    const chosen = backups.find((backup) => backup.id === $("restore-backup").value);
    if (!chosen) return;
    $("restore-question").textContent = `Replace every row of ${table} with its backup of ${formatTime(chosen.created)} (${chosen.rows} rows)?`;
    $("restore-confirm").textContent = `Replace ${table}`;
    dialog.dataset.table = table;
    dialog.dataset.backupId = chosen.id;
    dialog.dataset.created = chosen.created;
    dialog.returnValue = "";
    dialog.showModal();
  });
  $("restore-keep").addEventListener("click", () => dialog.close("keep"));
  $("restore-confirm").addEventListener("click", () => dialog.close("confirm"));
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "confirm") return;
    const { table, backupId, created } = dialog.dataset;
    const from = `${table} from its backup of ${formatTime(created)}`;
    run(
      $("restore-button"),
      $("restore-message"),
      `Restoring ${from}…`,
      () => api.request("restore", { body: { table, backup_id: backupId } }),
      (task) => `${from}: ${jobs.summary(task)}`,
    );
  });
}

export function setUp() {
  setUpUpload();
  setUpBackup();
  setUpRestore();
}

export function clear() {
  backups = [];
  for (const id of ["upload-message", "backup-message", "restore-message"]) {
    const message = $(id);
    delete message.dataset.taskId;
    delete message.dataset.state;
    say(message, "");
  }
}
