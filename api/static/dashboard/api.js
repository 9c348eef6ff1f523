// The dashboard's only door to the API.
//
// CONTRACT names every operation the dashboard calls: what it sends and which response fields it reads.
// tests/integration/test_dashboard_page.py checks each name against the app's /openapi.json. At run time
// request() hands back only the declared fields, so code cannot read a field it did not declare, and a
// declared field missing from an answer is reported as drift instead of being guessed around.
//
// A field path is dot-separated: "rows[].job" is `job` in each item of the list `rows`, "counts.*.inserted"
// is `inserted` in each value of the object `counts`, and a trailing "?" marks a field the schema lists
// as optional. This module touches no DOM, so Node can import it to read CONTRACT.

export const RUNNING_STATES = ["PENDING", "STARTED", "PROGRESS"];
export const ENDED_STATES = ["SUCCESS", "FAILURE", "CANCELLED"];
export const TASK_STATES = [...RUNNING_STATES, ...ENDED_STATES];
export const TABLES = ["departments", "jobs", "hired_employees"];

const TASK_FIELDS = [
  "task_id",
  "kind",
  "state",
  "percent",
  "counts.*.inserted?",
  "counts.*.already_exists?",
  "counts.*.rejected?",
  "counts.*.rows?",
  "counts.*.backed_up?",
  "counts.*.verified?",
  "counts.*.restored?",
  "error",
  "cancel_requested",
  "created_at",
];

const QUARTER_FIELDS = ["year", "rows[].department", "rows[].job", "rows[].Q1", "rows[].Q2", "rows[].Q3", "rows[].Q4"];
const ABOVE_FIELDS = ["year", "mean", "rows[].id", "rows[].department", "rows[].hired"];

export const CONTRACT = {
  signIn: { method: "POST", path: "/auth/token", body: { username: null, password: null }, reads: ["access_token", "expires_in"] },
  hiredByQuarter: { method: "GET", path: "/report/hired-by-quarter", query: { year: null }, reads: QUARTER_FIELDS },
  hiredByQuarterCsv: { method: "GET", path: "/report/hired-by-quarter", query: { year: null, format: ["csv"] }, accept: "text/csv" },
  hiringAboveAverage: { method: "GET", path: "/report/hiring-above-average", query: { year: null }, reads: ABOVE_FIELDS },
  hiringAboveAverageCsv: {
    method: "GET",
    path: "/report/hiring-above-average",
    query: { year: null, format: ["csv"] },
    accept: "text/csv",
  },
  taskList: {
    method: "GET",
    path: "/task-list",
    query: { per_page: null },
    reads: TASK_FIELDS.map((field) => `items[].${field}`),
    values: { "items[].state": TASK_STATES },
  },
  task: { method: "GET", path: "/task-status/{task_id}", reads: TASK_FIELDS, values: { state: TASK_STATES } },
  cancelTask: { method: "POST", path: "/task-status/{task_id}/cancel", reads: TASK_FIELDS, values: { state: TASK_STATES } },
  rejectionsCsv: { method: "GET", path: "/task-status/{task_id}/rejections", query: { format: ["csv"] }, accept: "text/csv" },
  uploadFiles: { method: "POST", path: "/upload-files", form: TABLES, reads: ["task_id"] },
  backup: { method: "POST", path: "/backup", reads: ["task_id"] },
  backups: {
    method: "GET",
    path: "/backups",
    query: { table: TABLES },
    reads: ["[].table", "[].id", "[].created", "[].rows"],
    values: { "[].table": TABLES },
  },
  restore: { method: "POST", path: "/restore", body: { table: TABLES, backup_id: null }, reads: ["task_id"] },
};

// Every error answer: {"error": {"code", "message", "details"}}.
export const ERROR_READS = ["error.code", "error.message"];

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export class ApiDrift extends ApiError {
  constructor(operation, problems) {
    super(`the answer to ${operation.method} ${operation.path} does not match what the dashboard reads: ${problems.join("; ")}`, 200, "drift");
    this.name = "ApiDrift";
    this.problems = problems;
  }
}

let token = null;
const sessionEndedListeners = [];
const driftListeners = [];

export function useToken(value) {
  token = value;
}

export function onSessionEnded(listener) {
  sessionEndedListeners.push(listener);
}

export function onDrift(listener) {
  driftListeners.push(listener);
}

function segments(path) {
  return path.split(".").flatMap((part) => (part.endsWith("[]") ? [part.slice(0, -2), "[]"].filter(Boolean) : [part]));
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

// The part of `value` that the paths name; every required name that is absent goes to `problems`.
function project(value, paths, where, problems) {
  if (paths.some((path) => path.length === 0)) return value;
  if (value === null) {
    if (!where) problems.push("the body is null");
    return null;
  }
  const head = paths[0][0];
  const rest = paths.map((path) => path.slice(1));
  if (head === "[]") {
    if (!Array.isArray(value)) {
      problems.push(`${where || "the body"} is not a list`);
      return [];
    }
    return value.map((item, index) => project(item, rest, `${where}[${index}]`, problems));
  }
  if (!isObject(value)) {
    problems.push(`${where || "the body"} is not an object`);
    return {};
  }
  if (head === "*") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, project(item, rest, `${where}.${key}`, problems)]));
  }
  const byName = new Map();
  for (const [first, ...tail] of paths) {
    const name = first.replace(/\?$/, "");
    const entry = byName.get(name) || { optional: true, paths: [] };
    entry.optional &&= first.endsWith("?");
    entry.paths.push(tail);
    byName.set(name, entry);
  }
  const picked = {};
  for (const [name, { optional, paths: tails }] of byName) {
    const place = where ? `${where}.${name}` : name;
    if (!(name in value)) {
      if (!optional) problems.push(`${place} is missing`);
      continue;
    }
    picked[name] = project(value[name], tails, place, problems);
  }
  return picked;
}

function valuesAt(value, path) {
  if (!path.length) return [value];
  if (value === null || value === undefined) return [];
  const [head, ...rest] = path;
  if (head === "[]") return value.flatMap((item) => valuesAt(item, rest));
  if (head === "*") return Object.values(value).flatMap((item) => valuesAt(item, rest));
  return valuesAt(value[head.replace(/\?$/, "")], rest);
}

export function pick(operation, data) {
  const problems = [];
  const picked = project(data, operation.reads.map(segments), "", problems);
  for (const [path, allowed] of Object.entries(operation.values || {})) {
    for (const found of valuesAt(picked, segments(path))) {
      if (!allowed.includes(found)) problems.push(`${path} is ${JSON.stringify(found)}, not one of ${allowed.join(", ")}`);
    }
  }
  return { picked, problems };
}

function undeclared(names, declared, what, operation) {
  const extra = names.filter((name) => !declared.includes(name));
  if (extra.length) throw new Error(`${operation.method} ${operation.path} does not declare the ${what} ${extra.join(", ")}`);
}

function route(operation, path = {}, query = {}) {
  const filled = operation.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(path[name]));
  undeclared(Object.keys(query), Object.keys(operation.query || {}), "query parameters", operation);
  const search = new URLSearchParams(Object.entries(query).map(([name, value]) => [name, String(value)])).toString();
  return search ? `${filled}?${search}` : filled;
}

/** The URL of an operation of CONTRACT, for a link. */
export function address(name, { path, query } = {}) {
  return route(CONTRACT[name], path, query);
}

async function failure(response, sentToken) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const { picked, problems } = pick({ reads: ERROR_READS }, data);
  const message = problems.length ? `the server answered ${response.status} ${response.statusText}`.trim() : picked.error.message;
  const code = problems.length ? "" : picked.error.code;
  if (response.status === 401 && sentToken) {
    sessionEndedListeners.forEach((listener) => listener());
    return new ApiError("your session has ended; sign in again", 401, code);
  }
  if (response.status === 403) return new ApiError(`${message} (your account may not do this)`, 403, code);
  const plain = problems.length > 0 || response.status < 500;
  return new ApiError(plain ? message : `${message} (HTTP ${response.status})`, response.status, code);
}

async function send(name, { path, query, body, form } = {}) {
  const operation = CONTRACT[name];
  const headers = new Headers({ Accept: operation.accept || "application/json" });
  const sentToken = token;
  if (sentToken) headers.set("Authorization", `Bearer ${sentToken}`);
  const init = { method: operation.method, headers };
  if (body !== undefined) {
    undeclared(Object.keys(body), Object.keys(operation.body || {}), "body fields", operation);
    headers.set("Content-Type", "application/json");
    init.body = JSON.stringify(body);
  }
  if (form !== undefined) {
    undeclared([...form.keys()], operation.form || [], "form files", operation);
    init.body = form;
  }
  let response;
  try {
    response = await fetch(route(operation, path, query), init);
  } catch {
    throw new ApiError("the server cannot be reached", 0, "unreachable");
  }
  if (!response.ok) throw await failure(response, sentToken);
  return { operation, response };
}

/** Call a JSON operation of CONTRACT; resolve to the declared fields of its answer. */
export async function request(name, options) {
  const { operation, response } = await send(name, options);
  let data;
  try {
    data = await response.json();
  } catch {
    data = undefined;
  }
  const { picked, problems } = data === undefined ? { picked: null, problems: ["the body is not JSON"] } : pick(operation, data);
  if (problems.length) {
    const drift = new ApiDrift(operation, problems);
    driftListeners.forEach((listener) => listener(drift));
    throw drift;
  }
  return picked;
}

/** Call a file operation of CONTRACT (CSV); resolve to the file's contents. */
export async function file(name, options) {
  const { response } = await send(name, options);
  return response.blob();
}
