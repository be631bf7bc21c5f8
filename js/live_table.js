// LiveTable's view: a scrolling grid of the rows the kernel keeps, drawing the window of them the kernel sends, and
// sending edits back as requests (see messages.py). Each view scrolls on its own: it draws the first rows (synced)
// until it asks for rows of its own, which the kernel sends it by message; all else shown comes from synced traits, so
// a reload or a second view draws the same table at once. Parts, top to bottom: the bar (title, status, filter), the
// grid (sorting by a header, editing a cell, showing a nested value whole, deleting a row), the box that adds a row,
// then the message and the "not live" notice. A widget in trouble (an error, or waiting for its table) says so under
// the bar, in place of the grid and its controls.

import { cellKind, cellText, cellTitle, localTime, nestedValues } from "./cells.js";
import { element, frame, plural, watchKernel } from "./shared.js";
import OWN_STYLE from "./live_table.css";
import SHARED_STYLE from "./widgets.css";

const STYLE = SHARED_STYLE + OWN_STYLE;

// ---------------------------------------------------------------- the bar

// Typing filters the rows (on the kernel) once the person pauses, from the first row.
function filterBox(model) {
  const filter = element("input", { type: "search", placeholder: "Filter", "aria-label": "Filter rows" });
  filter.value = model.get("filter");
  let typing;
  filter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      model.set("filter", filter.value);
      model.save_changes();
    }, 200);
  });
  return filter;
}

function statusText(model, state) {
  const { rows, of } = model.get("progress") || {};
  if (rows !== undefined) {
    // A snapshot is coming in: the rows so far show already; say how far it is.
    return `${state} · ${of == null ? `${plural(rows, "row")} so far` : `${Math.min(rows, of)} of ${plural(of, "row")}`}`;
  }
  const total = model.get("total");
  const matched = model.get("matched");
  const counted = matched === total ? plural(total, "row") : `${matched} of ${plural(total, "row")}`;
  return `${state} · ${counted} · ${plural(Number(model.get("rate").toFixed(0)), "change")}/s`;
}

// Fills while a snapshot comes in (moves without filling when its size is not known); hidden otherwise.
function drawProgress(bar, model) {
  const { rows, of } = model.get("progress") || {};
  bar.hidden = rows === undefined;
  if (of == null) bar.removeAttribute("value");
  else {
    bar.max = Math.max(1, of);
    bar.value = Math.min(rows, of);
  }
}

// ---------------------------------------------------------------- the grid

// regular-table (a kept library, bundled) draws only the rows in sight and asks for the cells it needs; the view
// draws them from the first rows (`window_rows`) or from its own window of rows, which it asks the kernel for
// (`window`) when those do not hold them, and which the kernel sends it (`rows`) then and whenever they change.
const ROW_HEIGHT = 24; // px, as the CSS sets it
const MAX_HEIGHT = 400; // px: the scroll area's height, or less when the rows fit
const MARGIN = 100; // rows asked for above and below those in sight, so a scroll rarely waits for the kernel
const MAX_WINDOW = 1000; // as the kernel allows
const UNDO_MS = 8000; // how long "Row deleted. Undo" stays
const RENEW_MS = 30_000; // a view asks for its window again when rows come this long after it asked (view_windows.py)

// The custom element is defined once per page, however many times the bundle is loaded.
async function gridElement() {
  if (!customElements.get("regular-table")) await import("regular-table");
  return document.createElement("regular-table");
}

// The sort keys, [[column, "asc" or "desc"], ...], first the most significant (a kernel may hold one as a pair).
function sortKeys(model) {
  const sort = model.get("sort") || [];
  return sort.length === 2 && typeof sort[0] === "string" ? [sort] : sort;
}

// A column's header sorts by it alone: ascending, then descending, then unsorted; with `add` (shift-click) it is
// added as a further key, or its key turned the same way round. Either shows from the first row.
function sortBy(model, column, add) {
  const keys = sortKeys(model);
  const at = keys.findIndex(([name]) => name === column);
  const direction = at < 0 ? null : keys[at][1];
  const next = direction === null ? "asc" : direction === "asc" ? "desc" : null;
  let sort;
  if (add) {
    sort = keys.map((key) => [...key]);
    if (at < 0) sort.push([column, "asc"]);
    else if (next) sort[at][1] = next;
    else sort.splice(at, 1);
  } else {
    const alone = keys.length === 1 && at === 0;
    sort = !alone ? [[column, "asc"]] : next ? [[column, next]] : [];
  }
  model.set("sort", sort);
  model.save_changes();
}

function grid(model, table) {
  const box = element("div", { class: "rw-grid" });
  box.append(table);
  let editing = null; // {key, rev, column, input} while a cell is edited
  let edited = null; // {key, column, ref} of this view's last edit, until the kernel says it was written or refused
  const mark = Math.random().toString(36).slice(2); // this view's edits are named `${mark}:${n}`
  let edits = 0;
  model.on("msg:custom", (msg) => {
    if (msg?.type === "edited" && edited && msg.ref === edited.ref) edited = null;
  });
  let noted = null; // {key, column}: the cell the note (the kernel's refusal of an edit) is next to
  const note = element("div", { class: "rw-cell-message", role: "alert" });
  note.hidden = true;
  box.append(note);
  let flashed = -1; // the version whose changed rows flashed already
  const values = nestedValues(table, box, cellAt);

  const view = Math.random().toString(36).slice(2); // this view's name in its requests
  let own = null; // {start, rows, changed}: this view's own window, as the kernel last sent it
  let asked = null; // [start, stop]: the window last asked for
  let askedAt = 0;
  const first = () => ({ start: 0, rows: model.get("window_rows"), changed: model.get("changed") });
  let drawn = first(); // the rows the grid shows, which clicks and notes refer to
  const windowRows = () => drawn;
  const columnsShown = () => [...model.get("columns"), ...(model.get("editable") ? [null] : [])];

  // The rows to draw y0..y1 from: this view's own when they hold them, else the first rows when they do; else it
  // asks for them, and draws what it has meanwhile.
  function rowsFor(y0, y1) {
    const stop = Math.min(y1, model.get("matched"));
    const holds = (window) => window && y0 >= window.start && stop <= window.start + window.rows.length;
    if (holds(own)) return own;
    if (holds(first())) return first();
    if (!(asked && y0 >= asked[0] && stop <= asked[1])) {
      const from = Math.max(0, y0 - MARGIN);
      ask([from, Math.min(from + MAX_WINDOW, y1 + MARGIN)]);
    }
    return own || first();
  }

  function ask(window) {
    asked = window;
    askedAt = Date.now();
    model.send({ type: "window", view, start: window[0], stop: window[1] });
  }

  // Rows for this view come before the update they belong to, which draws them.
  model.on("msg:custom", (msg) => {
    if (msg?.type !== "rows") return;
    const mine = msg.windows[view];
    if (mine) {
      own = mine;
      if (asked && Date.now() - askedAt > RENEW_MS) ask(asked); // still here: the kernel forgets a silent view
    } else if (own && !msg.kept.includes(view)) {
      own = asked = null; // forgotten (too many views, or silent too long): asks again as it draws
    }
  });

  // When the view goes away, the kernel forgets its window.
  function goodbye() {
    if (asked || own) model.send({ type: "goodbye", view });
  }

  function deleteButton(row) {
    const remove = element("button", { "aria-label": "Delete row", title: "Delete row" }, "✕");
    remove.addEventListener("click", () => model.send({ type: "delete", key: row.key, rev: row.rev }));
    return remove;
  }

  function cell(row, column) {
    if (!row) return "";
    if (column === null) return deleteButton(row);
    if (editing && editing.key === row.key && editing.column === column) return editing.input;
    const kind = cellKind(row, column);
    if (kind === "time") return localTime(row.cells[column]);
    if (kind === "nested") return values.cell(row, column);
    return cellText(row.cells[column]);
  }

  table.setDataListener(
    (x0, y0, x1, yEnd) => {
      const y1 = Math.min(yEnd, model.get("matched"));
      drawn = rowsFor(y0, y1);
      const { start, rows } = drawn;
      const columns = columnsShown();
      const data = [];
      for (let x = x0; x < Math.min(x1, columns.length); x++) {
        const column = [];
        for (let y = y0; y < y1; y++) column.push(cell(rows[y - start], columns[x]));
        data.push(column);
      }
      // The header row is counted before the grid sizes its scroll area: else the first size leaves it out, and a
      // view scrolled to the bottom before the grid draws again stops one row short of the last.
      return {
        num_rows: model.get("matched"),
        num_columns: columns.length,
        num_column_headers: 1,
        column_headers: columns.slice(x0, x1).map((column) => [column === null ? "" : column]),
        data,
      };
    },
    { virtual_mode: "both" },
  );

  // Cells say what they hold (for alignment and colour), rows their key; rows the kernel marks as changed flash.
  table.addStyleListener(() => {
    const { start, rows } = windowRows();
    const columns = columnsShown();
    const keys = sortKeys(model);
    const flash = flashed !== model.get("version");
    flashed = model.get("version");
    const changed = new Set(flash ? drawn.changed : []);
    const flashing = [];
    if (flash && own) own.changed = []; // its rows flash once, with the update they came before
    for (const th of table.querySelectorAll("thead th")) {
      const column = columns[table.getMeta(th)?.x];
      const at = column ? keys.findIndex(([name]) => name === column) : -1;
      if (at < 0) th.removeAttribute("aria-sort");
      else th.setAttribute("aria-sort", keys[at][1] === "desc" ? "descending" : "ascending");
      if (at >= 0 && keys.length > 1) th.dataset.sortRank = String(at + 1); // which key it is, from the first
      else delete th.dataset.sortRank;
      th.tabIndex = column ? 0 : -1;
    }
    for (const tr of table.querySelectorAll("tbody tr")) {
      const first = tr.querySelector("td");
      const meta = first && table.getMeta(first);
      const row = meta && rows[meta.y - start];
      if (row) tr.dataset.key = row.key;
      else delete tr.dataset.key;
      if (flash) {
        tr.classList.remove("rw-flash");
        if (row && changed.has(row.key)) flashing.push(tr);
      }
      for (const td of tr.querySelectorAll("td")) {
        const column = columns[table.getMeta(td)?.x];
        // Only what differs is written: every write makes the browser work out the cell's style again.
        const kind = column === null ? "actions" : row ? cellKind(row, column) : "loading";
        if (td.dataset.kind !== kind) td.dataset.kind = kind;
        const title = !column || !row ? "" : cellTitle(row, column);
        if (td.title !== title) td.title = title;
        const editable = model.get("editable") && column && column !== model.get("key_column");
        // Keyboard users edit with Enter or F2, and show a nested value whole with Space.
        const focusable = editable || kind === "nested";
        if (focusable && td.tabIndex !== 0) td.tabIndex = 0;
        else if (!focusable && td.hasAttribute("tabindex")) td.removeAttribute("tabindex");
      }
    }
    if (flashing.length) {
      void table.offsetWidth; // one reflow for all: each highlight animation starts again
      for (const tr of flashing) tr.classList.add("rw-flash");
    }
    placeNote();
    values.place();
  });

  // The drawn cell of row `key`'s `column`, if it is in sight.
  function drawnCell(key, column) {
    return [...table.querySelectorAll("tbody td")].find((td) => {
      const at = cellAt(td);
      return at && at.row.key === key && at.column === column;
    });
  }

  // The kernel's refusal of this view's edit shows next to the cell (as well as below the grid), while in sight.
  function placeNote() {
    const td = noted && drawnCell(noted.key, noted.column);
    note.hidden = !td;
    if (!td) return;
    const cellBox = td.getBoundingClientRect();
    const gridBox = box.getBoundingClientRect();
    note.style.left = `${cellBox.left - gridBox.left}px`;
    note.style.top = `${cellBox.bottom - gridBox.top}px`;
  }
  model.on("change:message", () => {
    const text = model.get("message");
    noted = text && edited ? { key: edited.key, column: edited.column } : null;
    note.textContent = noted ? text : "";
    edited = null;
    placeNote();
  });

  // The cell's row and column, when it shows a row's cell.
  function cellAt(td) {
    const meta = td && table.getMeta(td);
    if (!meta || meta.y === undefined || meta.x === undefined) return null;
    const { start, rows } = windowRows();
    const row = rows[meta.y - start];
    const column = columnsShown()[meta.x];
    return row && column ? { row, column } : null;
  }

  // An edit keeps the row's revision from when it began: if the row changes meanwhile, the kernel refuses it.
  // Enter or a click elsewhere saves; Escape cancels.
  function edit(td) {
    const at = cellAt(td);
    if (!at || editing || !model.get("editable") || at.column === model.get("key_column")) return;
    noted = null;
    placeNote();
    values.close();
    const { row, column } = at;
    const input = element("input", { "aria-label": `New value of ${column}` });
    const before = cellText(row.cells[column]);
    input.value = before;
    editing = { key: row.key, rev: row.rev, column, input };
    const finish = (save) => {
      if (editing?.input !== input) return;
      editing = null;
      if (save && input.value !== before) {
        edits += 1;
        edited = { key: row.key, column, ref: `${mark}:${edits}` };
        model.send({ type: "edit", key: row.key, rev: row.rev, column, text: input.value, ref: edited.ref });
      }
      table.draw();
    };
    input.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Enter") finish(true);
      else if (event.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    input.addEventListener("dblclick", (event) => event.stopPropagation());
    table.draw().then(() => {
      input.focus();
      input.select();
    });
  }

  table.addEventListener("click", (event) => {
    if (event.target.closest(".rw-expand")) return values.toggle(event.target.closest("td"), false);
    const th = event.target.closest("thead th");
    if (!th || event.target.classList.contains("rt-column-resize")) return;
    const column = columnsShown()[table.getMeta(th)?.x];
    if (column) sortBy(model, column, event.shiftKey);
  });
  table.addEventListener("dblclick", (event) => {
    if (!event.target.closest(".rw-expand")) edit(event.target.closest("tbody td"));
  });
  table.addEventListener("keydown", (event) => {
    const th = event.target.closest?.("thead th");
    const td = event.target.matches?.("tbody td") ? event.target : null;
    if (th && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      const column = columnsShown()[table.getMeta(th)?.x];
      if (column) sortBy(model, column, event.shiftKey);
    } else if (td && (event.key === "Enter" || event.key === "F2")) {
      event.preventDefault();
      edit(td);
    } else if (td && td.dataset.kind === "nested" && event.key === " ") {
      event.preventDefault();
      values.toggle(td, true);
    }
  });

  // The scroll area is as tall as its rows, up to MAX_HEIGHT. The grid measures itself as it draws, so it draws only
  // once it is on screen (a notebook may render the output before showing it).
  let shown = false;
  new ResizeObserver(() => {
    shown = box.offsetWidth > 0 && box.offsetHeight > 0;
    if (shown) table.draw();
  }).observe(box);
  function draw() {
    const rows = Math.max(1, model.get("matched"));
    box.style.height = `${Math.min(MAX_HEIGHT, (rows + 1) * ROW_HEIGHT + 16)}px`;
    if (shown) table.draw();
  }
  // A new sort or filter shows from the first row.
  function toTop() {
    table.scrollTop = 0;
  }
  return { box, draw, toTop, goodbye, stop: values.close };
}

// ---------------------------------------------------------------- adding a row

// After a row is deleted from a view: "Row deleted. Undo" for a few seconds; Undo asks the kernel to put it back.
function undoNotice(model) {
  const button = element("button", { type: "button" }, "Undo");
  const notice = element("div", { class: "rw-undo", role: "status" }, "Row deleted. ");
  notice.append(button);
  notice.hidden = true;
  let timer = null;
  button.addEventListener("click", () => {
    model.send({ type: "undo_delete", key: model.get("undo") });
    notice.hidden = true;
  });
  model.on("change:undo", () => {
    clearTimeout(timer);
    notice.hidden = !model.get("undo");
    timer = setTimeout(() => (notice.hidden = true), UNDO_MS);
  });
  return notice;
}

// The kernel parses the text and refuses what is not a JSON object (or the database refuses the row): the refusal
// comes back as the message, shown beside the box (`refusing()`, and not again below the grid), and the text stays
// to be fixed; the box empties when the kernel says the row was added. Replies go to every view of the model: a
// request's reference carries this view's own mark.
function adder(model) {
  const bar = element("div", { class: "rw-bar rw-add" });
  const input = element("input", { placeholder: '{"field": "value"}', "aria-label": "New row as JSON", size: 40 });
  const add = element("button", {}, "Add row");
  const refused = element("span", { class: "rw-add-message", role: "alert" });
  refused.hidden = true;
  bar.append(input, add, refused);
  const mark = Math.random().toString(36).slice(2);
  let adding = 0;
  const pending = new Map(); // request reference -> the text sent, until the kernel added the row or refused it
  model.on("msg:custom", (msg) => {
    if (!msg || msg.type !== "added" || !pending.has(msg.ref)) return;
    if (input.value === pending.get(msg.ref)) input.value = "";
    pending.delete(msg.ref);
    refused.hidden = true;
  });
  // Requests are carried out in turn, so a refusal while this view's rows are pending is the first one's; any other
  // message is not about the box.
  model.on("change:message", () => {
    const text = model.get("message");
    refused.hidden = !(text && pending.size);
    if (refused.hidden) return;
    pending.delete(pending.keys().next().value);
    refused.textContent = text;
  });
  const addRow = () => {
    if (!input.value.trim()) return;
    adding += 1;
    const ref = `${mark}:${adding}`;
    pending.set(ref, input.value);
    model.send({ type: "insert", text: input.value, ref });
  };
  add.addEventListener("click", addRow);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") addRow();
  });
  return { bar, refusing: () => !refused.hidden };
}

// ---------------------------------------------------------------- the view

async function render({ model, el }) {
  const { root, bar, troubleBox, message, offline, drawState } = frame(model, "rw-table", STYLE);
  const loading = element("progress", { class: "rw-progress", "aria-label": "Rows loaded" });
  const filter = filterBox(model);
  bar.append(loading, filter);
  const table = grid(model, await gridElement());
  const adding = adder(model);
  const undo = undoNotice(model);
  root.append(bar, troubleBox, table.box, adding.bar, undo, message, offline);
  el.append(root);

  const kernel = watchKernel(model, root, offline, drawStatus);

  // Everything but the grid: the status line, the trouble box, the adder and the message.
  function drawStatus() {
    const problem = drawState(kernel.stale(), (state) => statusText(model, state));
    drawProgress(loading, model);
    filter.hidden = table.box.hidden = !!problem;
    adding.bar.hidden = !!problem || !model.get("editable");
    message.textContent = adding.refusing() ? "" : model.get("message");
  }

  function draw() {
    kernel.heard();
    table.draw();
    drawStatus();
  }

  model.on("change:version", draw);
  model.on("change:sort", table.toTop);
  model.on("change:filter", table.toTop);
  model.on("change:message", drawStatus);
  table.draw();
  drawStatus();
  return () => {
    table.goodbye();
    kernel.stop();
    table.stop();
  };
}

export default { render };
