// What a LiveTable cell shows: a value as text (as it is edited), a time in the browser's time zone, the kind of
// value it holds (for alignment and colour), its tooltip, and a nested value whole in a panel under its cell.

import { element } from "./shared.js";

// A cell's value as text: the text it is edited as (a time's is its ISO 8601 text, which the kernel reads back).
export function cellText(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

// A time comes as ISO 8601 text in its own offset (its row lists it in `times`). It reads in the browser's time
// zone, in one fixed form whatever the locale, 2024-05-01 14:30:00 (milliseconds only when it has some); its tooltip
// has the ISO text with the original offset.
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const pad = (number, digits = 2) => String(number).padStart(digits, "0");

export function localTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const date = `${pad(when.getFullYear(), 4)}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
  const time = `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
  const millis = when.getMilliseconds();
  return `${date} ${time}${millis ? `.${pad(millis, 3)}` : ""}`;
}

function isTime(row, column) {
  return !!row.times && row.times.includes(column) && typeof row.cells[column] === "string";
}

// ---------------------------------------------------------------- kinds and tooltips

export function cellKind(row, column) {
  const value = row.cells[column];
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (isTime(row, column)) return "time";
  if (typeof value === "object") return "nested";
  return typeof value; // number, boolean, string
}

// What a cell's tooltip says: the whole value (a long one is cut short in the cell, a nested one shown on one line),
// and for a time where it is from.
export function cellTitle(row, column) {
  const value = row.cells[column];
  const kind = cellKind(row, column);
  if (kind === "time") return `${value} (shown in ${TIME_ZONE} time)`;
  return kind === "nested" ? JSON.stringify(value, null, 2) : cellText(value);
}

// ---------------------------------------------------------------- nested values

// A nested value shows on one line in its cell, after a ▸ toggle; the toggle (or Space on the cell) opens a panel
// under the cell with the value pretty-printed, as text. The panel follows its row (by key) as rows move, and closes
// when its cell is no longer drawn, by Escape, a click elsewhere or the toggle. `cellAt(td)` is the row and column
// a drawn cell shows.
export function nestedValues(table, box, cellAt) {
  const panel = element("pre", { class: "rw-value", tabindex: "0", role: "region" });
  panel.hidden = true;
  box.append(panel);
  let open = null; // {key, column} of the value shown whole
  // Each nested cell's content while it is drawn, kept as long as it shows the same value: a redraw then neither
  // replaces its toggle (which would lose a click that spans it) nor builds it anew.
  const contents = new Map();
  const id = (key, column) => JSON.stringify([key, column]);
  const isOpen = (at) => !!open && open.key === at.row.key && open.column === at.column;

  function cell(row, column) {
    const text = cellText(row.cells[column]);
    let content = contents.get(id(row.key, column));
    if (!content || content.text !== text) {
      const node = element("span");
      // The toggle's ▸ or ▾ is drawn by the CSS, so the cell's text is the value's.
      node.append(element("button", { type: "button", class: "rw-expand", tabindex: "-1" }), text);
      content = { text, node };
      contents.set(id(row.key, column), content);
    }
    return content.node;
  }

  function cells() {
    return [...table.querySelectorAll("tbody td[data-kind='nested']")];
  }

  // Each nested cell's toggle says whether its value is open; the panel sits under the open one (over it when there
  // is no room below), or closes when that is not drawn.
  function place() {
    for (const [key, content] of contents) if (!content.node.isConnected) contents.delete(key);
    let shown = null;
    for (const td of cells()) {
      const at = cellAt(td);
      const expanded = !!at && isOpen(at);
      if (expanded) shown = { td, at };
      const toggle = td.querySelector(".rw-expand");
      if (toggle && at) {
        toggle.setAttribute("aria-expanded", String(expanded));
        toggle.setAttribute("aria-label", `${expanded ? "Hide" : "Show"} the whole value of ${at.column}`);
      }
    }
    if (!shown) return close();
    const text = JSON.stringify(shown.at.row.cells[shown.at.column], null, 2);
    if (panel.textContent !== text) panel.textContent = text;
    panel.setAttribute("aria-label", `The whole value of ${shown.at.column}`);
    panel.hidden = false;
    const cellBox = shown.td.getBoundingClientRect();
    const gridBox = box.getBoundingClientRect();
    const below = cellBox.bottom - gridBox.top;
    const above = cellBox.top - gridBox.top - panel.offsetHeight;
    const fits = below + panel.offsetHeight <= gridBox.height || above < 0;
    panel.style.top = `${fits ? below : above}px`;
    panel.style.left = `${Math.max(0, Math.min(cellBox.left - gridBox.left, gridBox.width - panel.offsetWidth))}px`;
  }

  // Opens the value of `td`, or closes it when it is open; `focus` (from the keyboard) moves the focus to the panel.
  function toggle(td, focus) {
    const at = td && cellAt(td);
    if (!at) return;
    if (isOpen(at)) return close();
    open = { key: at.row.key, column: at.column };
    document.addEventListener("pointerdown", clickAway, true);
    place();
    if (focus && !panel.hidden) panel.focus();
  }

  function close() {
    if (!open) return;
    const at = open;
    open = null;
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    document.removeEventListener("pointerdown", clickAway, true);
    place();
    // The focus goes back to the cell it came from.
    const td = hadFocus && cells().find((cell) => {
      const shown = cellAt(cell);
      return shown && shown.row.key === at.key && shown.column === at.column;
    });
    if (td) td.focus();
  }

  // A click outside the panel closes it (a toggle's click opens or closes a value itself).
  function clickAway(event) {
    if (!panel.contains(event.target) && !event.target.closest?.(".rw-expand")) close();
  }

  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && open) {
      event.stopPropagation();
      close();
    }
  });

  return { cell, place, toggle, close };
}
