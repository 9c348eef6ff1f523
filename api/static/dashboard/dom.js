// Small DOM helpers shared by the other modules.

const SVG_NS = "http://www.w3.org/2000/svg";

export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function svgEl(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Show a status line; `kind` is "", "ok" or "error". */
export function say(element, text, kind = "") {
  const target = typeof element === "string" ? $(element) : element;
  target.textContent = text;
  target.className = `message ${kind}`.trim();
}

/** Hand a file fetched with the bearer token to the browser, as a plain link could not. */
export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export function shortId(id) {
  return String(id).slice(0, 8);
}

/** A time from the API in the reader's own time zone; `short` leaves the year out when it is this one. */
export function formatTime(iso, { short = false } = {}) {
  const moment = new Date(iso);
  const thisYear = moment.getFullYear() === new Date().getFullYear();
  return moment.toLocaleString(undefined, {
    year: short && thisYear ? undefined : "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}
