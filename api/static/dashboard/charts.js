// Bar charts drawn as SVG at the pixel width of their box, so 12px text stays 12px on a phone.
// Every bar carries its exact figure for the tooltip (data-tip-value) and for tests (data-value).

import { svgEl } from "./dom.js";

const NARROW = 640;
const CHAR_WIDTH = 6.8; // about one character of 12px system-ui text, to wrap and fit labels

export function niceScale(maximum, ticks = 5) {
  if (maximum <= 0) return { top: 1, step: 1 };
  const raw = maximum / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const step = Math.max(1, (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10) * magnitude);
  return { top: Math.ceil(maximum / step) * step, step };
}

export const isNarrow = (width) => width < NARROW;

function begin(svg, width, height) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
}

function dataAttributes(data = {}) {
  return Object.fromEntries(Object.entries(data).map(([name, value]) => [`data-${name}`, value]));
}

function wrapWords(text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && `${line} ${word}`.length > width) {
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

function axisTitles(svg, titles, plot, height) {
  const middle = plot.top + plot.height / 2;
  svg.append(svgEl("text", { class: "axis-title x", x: plot.left + plot.width / 2, y: height - 6, "text-anchor": "middle" }, titles.x));
  svg.append(svgEl("text", { class: "axis-title y", x: 14, y: middle, transform: `rotate(-90 14 ${middle})`, "text-anchor": "middle" }, titles.y));
}

function bar(segment, box) {
  return svgEl("rect", {
    class: segment.className,
    ...box,
    ...dataAttributes(segment.data),
    "data-value": segment.value,
    "data-tip-value": segment.tip.value,
    "data-tip-detail": segment.tip.detail,
  });
}

function selectable(group, key, { selected, onSelect }) {
  if (!onSelect) return;
  if (key === selected) group.classList.add("selected");
  group.addEventListener("click", () => onSelect(key));
}

export function drawEmpty(svg, width, message) {
  begin(svg, width, 120);
  svg.append(svgEl("text", { x: width / 2, y: 64, "text-anchor": "middle", class: "empty" }, message));
}

/** Vertical bars in groups along the x axis: `groups` is [{key, label, data, bars: [{value, className, data, tip}]}]. */
export function columnChart(svg, width, { groups, titles, selected, onSelect }) {
  const height = 380;
  const margin = { top: 22, right: 8, bottom: 74, left: 62 };
  const plot = { left: margin.left, top: margin.top, width: width - margin.left - margin.right, height: height - margin.top - margin.bottom };
  const { top, step } = niceScale(Math.max(...groups.flatMap((group) => group.bars.map((b) => b.value))));
  const y = (value) => plot.top + plot.height - (value / top) * plot.height;
  begin(svg, width, height);

  const grid = svgEl("g", { class: "grid" });
  for (let tick = 0; tick <= top; tick += step) {
    grid.append(svgEl("line", { x1: plot.left, x2: plot.left + plot.width, y1: y(tick), y2: y(tick) }));
    grid.append(svgEl("text", { x: plot.left - 8, y: y(tick) + 4, "text-anchor": "end" }, String(tick)));
  }
  svg.append(grid);

  const groupWidth = plot.width / groups.length;
  const barWidth = (groupWidth * 0.8) / Math.max(...groups.map((group) => group.bars.length));
  const chars = Math.max(4, Math.floor(groupWidth / CHAR_WIDTH));
  groups.forEach((group, index) => {
    const x0 = plot.left + index * groupWidth;
    const node = svgEl("g", { class: "group", ...dataAttributes(group.data) });
    node.append(svgEl("rect", { class: "group-bg", x: x0, y: plot.top, width: groupWidth, height: plot.height }));
    group.bars.forEach((segment, position) => {
      const x = x0 + groupWidth * 0.1 + position * barWidth;
      node.append(bar(segment, { x: x + 1, y: y(segment.value), width: Math.max(1, barWidth - 2), height: Math.max(0, y(0) - y(segment.value)) }));
      if (barWidth >= 18 && segment.value > 0) {
        node.append(svgEl("text", { x: x + barWidth / 2, y: y(segment.value) - 3, "text-anchor": "middle", class: "bar-value" }, String(segment.value)));
      }
    });
    const label = svgEl("text", { x: x0 + groupWidth / 2, y: y(0) + 17, "text-anchor": "middle", class: "category-label" });
    wrapWords(group.label, chars).forEach((line, number) => {
      label.append(svgEl("tspan", { x: x0 + groupWidth / 2, dy: number ? 14 : 0 }, line));
    });
    node.append(label);
    selectable(node, group.key, { selected, onSelect });
    svg.append(node);
  });
  svg.append(svgEl("line", { class: "axis-base", x1: plot.left, x2: plot.left + plot.width, y1: y(0), y2: y(0) }));
  axisTitles(svg, titles, plot, height);
}

/**
 * Horizontal bars, one row per category, segments stacked left to right: `rows` is
 * [{key, label, data, segments: [{value, className, data, tip}]}]. Labels sit left of the bars,
 * or above them when the chart is narrow. `marker` ({value, label, attributes}) draws a dashed line.
 */
export function barChart(svg, width, { rows, titles, marker, rowClass, selected, onSelect }) {
  const narrow = isNarrow(width);
  const longest = Math.max(...rows.map((row) => row.label.length));
  const labelWidth = narrow ? 0 : Math.min(width * 0.32, longest * CHAR_WIDTH + 14);
  const rowHeight = narrow ? 40 : 28;
  const thickness = narrow ? 16 : 18;
  const margin = { top: marker ? 28 : 8, right: 44, bottom: 50, left: 26 + labelWidth };
  const height = margin.top + rows.length * rowHeight + margin.bottom;
  const plot = { left: margin.left, top: margin.top, width: width - margin.left - margin.right, height: rows.length * rowHeight };
  const totals = rows.map((row) => row.segments.reduce((sum, segment) => sum + segment.value, 0));
  const { top, step } = niceScale(Math.max(...totals, marker ? marker.value : 0));
  const x = (value) => plot.left + (value / top) * plot.width;
  begin(svg, width, height);

  const grid = svgEl("g", { class: "grid" });
  for (let tick = 0; tick <= top; tick += step) {
    grid.append(svgEl("line", { x1: x(tick), x2: x(tick), y1: plot.top - 4, y2: plot.top + plot.height }));
    grid.append(svgEl("text", { x: x(tick), y: plot.top + plot.height + 16, "text-anchor": "middle" }, String(tick)));
  }
  svg.append(grid);

  rows.forEach((row, index) => {
    const rowTop = plot.top + index * rowHeight;
    const barTop = narrow ? rowTop + 18 : rowTop + (rowHeight - thickness) / 2;
    const node = svgEl("g", { class: rowClass, ...dataAttributes(row.data) });
    node.append(svgEl("rect", { class: "group-bg", x: narrow ? plot.left : 0, y: rowTop, width: narrow ? plot.width : width, height: rowHeight }));
    const label = narrow
      ? { x: plot.left, y: rowTop + 13, "text-anchor": "start", class: "category-label" }
      : { x: plot.left - 10, y: barTop + thickness / 2 + 4, "text-anchor": "end", class: "category-label" };
    node.append(svgEl("text", label, row.label));
    let sum = 0;
    for (const segment of row.segments) {
      node.append(bar(segment, { x: x(sum), y: barTop, width: Math.max(0, x(sum + segment.value) - x(sum)), height: thickness }));
      sum += segment.value;
    }
    node.append(svgEl("text", { x: x(sum) + 5, y: barTop + thickness / 2 + 4, class: "bar-value" }, String(sum)));
    selectable(node, row.key, { selected, onSelect });
    svg.append(node);
  });

  if (marker) {
    const at = x(marker.value);
    const half = (marker.label.length * CHAR_WIDTH) / 2;
    svg.append(svgEl("line", { class: "marker-line", x1: at, x2: at, y1: plot.top - 8, y2: plot.top + plot.height, ...marker.attributes }));
    const labelX = Math.min(Math.max(at, half + 2), width - half - 2);
    svg.append(svgEl("text", { x: labelX, y: plot.top - 12, "text-anchor": "middle", class: "marker-label" }, marker.label));
  }
  axisTitles(svg, titles, plot, height);
}

/** Call draw(width) now and whenever the element's width changes. */
export function watchWidth(element, draw) {
  let drawn = -1;
  const redraw = () => {
    const width = Math.floor(element.clientWidth);
    if (width > 0 && width !== drawn) {
      drawn = width;
      draw(width);
    }
  };
  new ResizeObserver(redraw).observe(element);
  return () => {
    drawn = -1;
    redraw();
  };
}

/** Show the exact figure of the bar under the pointer (or under the finger) in the page's tooltip. */
export function attachTooltip(svg, tooltip) {
  const show = (event) => {
    const target = event.target.closest("[data-tip-value]");
    if (!target) {
      tooltip.hidden = true;
      return;
    }
    tooltip.querySelector(".tip-value").textContent = target.dataset.tipValue;
    tooltip.querySelector(".tip-detail").textContent = target.dataset.tipDetail;
    tooltip.dataset.chart = svg.id;
    tooltip.hidden = false;
    const { clientWidth } = document.documentElement;
    let left = event.pageX + 14;
    if (left + tooltip.offsetWidth > window.scrollX + clientWidth - 8) left = event.pageX - 14 - tooltip.offsetWidth;
    let top = event.pageY - tooltip.offsetHeight - 12;
    if (top < window.scrollY + 4) top = event.pageY + 18;
    tooltip.style.left = `${Math.max(window.scrollX + 4, left)}px`;
    tooltip.style.top = `${top}px`;
  };
  svg.addEventListener("pointermove", show);
  svg.addEventListener("pointerdown", show);
  svg.addEventListener("pointerleave", (event) => {
    if (event.pointerType === "mouse") tooltip.hidden = true;
  });
  document.addEventListener("pointerdown", (event) => {
    if (!svg.contains(event.target) && tooltip.dataset.chart === svg.id) tooltip.hidden = true;
  });
}
