// Tables that sort by any column when its header is clicked (or activated with Enter or Space).

import { byCodePoint, el } from "./dom.js";

const views = new Map();

function columns(table) {
  return [...table.querySelectorAll("th")].map((th) => ({ key: th.dataset.key, type: th.dataset.type, label: th.textContent }));
}

function render(table) {
  const view = views.get(table);
  const shownColumns = columns(table);
  let shown = view.rows;
  if (view.key) {
    const { key, direction } = view;
    const numeric = shownColumns.find((column) => column.key === key).type === "number";
    shown = [...view.rows].sort((a, b) => direction * (numeric ? a[key] - b[key] : byCodePoint(a[key], b[key])));
  }
  const body = document.createElement("tbody");
  for (const row of shown) {
    const tr = el("tr");
    for (const column of shownColumns) {
      tr.append(el("td", { class: column.type, "data-label": column.label }, String(row[column.key])));
    }
    body.append(tr);
  }
  if (!shown.length) {
    const tr = el("tr");
    tr.append(el("td", { colspan: shownColumns.length, class: "muted empty-row" }, "No rows"));
    body.append(tr);
  }
  table.tBodies[0].replaceWith(body);
}

export function makeSortable(table) {
  const view = { key: null, direction: 1, rows: [] };
  views.set(table, view);
  table.querySelectorAll("th").forEach((header) => {
    header.tabIndex = 0;
    const sortBy = () => {
      view.direction = view.key === header.dataset.key ? -view.direction : 1;
      view.key = header.dataset.key;
      table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", view.direction === 1 ? "ascending" : "descending");
      render(table);
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

export function fillTable(table, rows) {
  views.get(table).rows = rows;
  render(table);
}
