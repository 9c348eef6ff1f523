// The dashboard's entry point: it wires the modules together. Nothing here talks to the API directly.

import * as api from "./api.js";
import { $ } from "./dom.js";
import * as jobs from "./jobs.js";
import * as operations from "./operations.js";
import * as reports from "./reports.js";
import * as session from "./session.js";

const RELOADS_REPORTS = ["ingest", "restore"];

api.onDrift((drift) => {
  const banner = $("api-message");
  banner.hidden = false;
  banner.textContent = `The dashboard and this server disagree: ${drift.message}. Update the dashboard or the server.`;
  document.body.dataset.apiDrift = "true";
  console.error(`hireflow dashboard: ${drift.message}`);
});

jobs.onEnded((task) => {
  if (RELOADS_REPORTS.includes(task.kind)) reports.load();
  if (task.kind === "backup") operations.loadBackups();
});

reports.setUp();
operations.setUp();
session.start({
  signedIn() {
    reports.load();
    jobs.start();
    operations.loadBackups();
  },
  signedOut() {
    jobs.stop();
    reports.clear();
    operations.clear();
  },
});
