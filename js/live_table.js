// LiveTable's view: draws the page of rows the kernel keeps in the model, and sends edits back as requests (see
// messages.py). Everything shown comes from synced traits, so a reload or a second view draws the same table.
// Parts, top to bottom: the bar (title, status, filter), the header (sorting), the rows (editing a cell, deleting a
// row), the pager, the box that adds a row, then the message and the "not live" notice. A widget in trouble (an
// error, or waiting for its table) says so under the bar, in place of the table and its controls.

import { element, plural, reconcile, trouble, watchKernel } from "./shared.js";
import OWN_STYLE from "./live_table.css";
import SHARED_STYLE from "./widgets.css";

const STYLE = SHARED_STYLE + OWN_STYLE;

function cellText(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

// ---------------------------------------------------------------- the bar

// Typing filters the rows (on the kernel) once the person pauses, from the first page.
function filterBox(model) {
  const filter = element("input", { type: "search", placeholder: "Filter", "aria-label": "Filter rows" });
  filter.value = model.get("filter");
  let typing;
  filter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      model.set("filter", filter.value);
      model.set("page", 0);
      model.save_changes();
    }, 200);
  });
  return filter;
}

function statusText(model, state) {
  const { rows, of } = model.get("progress") || {};
  if (rows !== undefined) {
    // A snapshot is coming in: the rows so far show already; say how far it is.
    return `${state} · ${of == null ? `${rows} rows so far` : `${Math.min(rows, of)} of ${of} rows`}`;
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

// ---------------------------------------------------------------- the header

// A column's header sorts by it: ascending, then descending, then unsorted; from the first page.
function sortBy(model, column) {
  const [current, direction] = model.get("sort") || [];
  let sort = [column, "asc"];
  if (current === column && direction === "asc") sort = [column, "desc"];
  else if (current === column && direction === "desc") sort = [];
  model.set("sort", sort);
  model.set("page", 0);
  model.save_changes();
}

function header(model) {
  const head = element("thead");
  let drawn = "";
  function draw() {
    const [sorted, direction] = model.get("sort") || [];
    const signature = JSON.stringify([model.get("columns"), sorted, direction, model.get("editable")]);
    if (signature === drawn) return; // redrawing would lose the keyboard focus of a header
    drawn = signature;
    const row = element("tr");
    for (const column of model.get("columns")) {
      const th = element("th", { scope: "col", tabindex: "0" }, column);
      if (column === sorted) th.setAttribute("aria-sort", direction === "desc" ? "descending" : "ascending");
      th.addEventListener("click", () => sortBy(model, column));
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(model, column);
        }
      });
      row.append(th);
    }
    if (model.get("editable")) row.append(element("th", { "aria-label": "Actions" }));
    head.replaceChildren(row);
  }
  return { head, draw };
}

// ---------------------------------------------------------------- the rows

function fillCell(td, value) {
  td.textContent = cellText(value);
  td.title = cellText(value);
  td.classList.toggle("rw-missing", value === undefined);
  td.classList.toggle("rw-nested", value !== null && typeof value === "object");
}

// An edit keeps the row's revision from when it began: if the row changes meanwhile, the kernel refuses it.
function editCell(model, td, column) {
  const row = td.parentElement.row;
  if (!model.get("editable") || column === model.get("key_column") || td.querySelector("input")) return;
  const input = element("input", { "aria-label": `New value of ${column}` });
  input.value = cellText(row.cells[column]);
  td.replaceChildren(input);
  input.focus();
  input.select();
  let done = false;
  const finish = (save) => {
    if (done) return;
    done = true;
    if (save && input.value !== cellText(row.cells[column])) {
      model.send({ type: "edit", key: row.key, rev: row.rev, column, text: input.value });
    }
    fillCell(td, td.parentElement.row.cells[column]);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    else if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(false));
}

function makeRow(model, columns, editable) {
  const tr = element("tr");
  for (const column of columns) {
    const td = element("td");
    td.addEventListener("dblclick", () => editCell(model, td, column));
    if (editable && column !== model.get("key_column")) {
      td.tabIndex = 0; // keyboard users edit with Enter or F2
      td.addEventListener("keydown", (event) => {
        if ((event.key === "Enter" || event.key === "F2") && event.target === td) editCell(model, td, column);
      });
    }
    tr.append(td);
  }
  if (editable) {
    const remove = element("button", { "aria-label": "Delete row", title: "Delete row" }, "✕");
    remove.addEventListener("click", () => model.send({ type: "delete", key: tr.row.key, rev: tr.row.rev }));
    const actions = element("td");
    actions.append(remove);
    tr.append(actions);
  }
  return tr;
}

// Rows are kept by key, so a cell being edited survives updates to other rows; rows the kernel marks as changed
// flash.
function rows(model) {
  const body = element("tbody");
  let shape = "";
  function draw() {
    const columns = model.get("columns");
    const editable = model.get("editable");
    const changed = new Set(model.get("changed"));
    const layout = JSON.stringify([columns, editable]);
    if (layout !== shape) body.replaceChildren(); // rows of another shape are made anew
    shape = layout;
    const flashing = [];
    const update = (tr, row) => {
      tr.row = row;
      columns.forEach((column, i) => {
        const td = tr.children[i];
        if (!td.querySelector("input")) fillCell(td, row.cells[column]);
      });
      if (changed.has(row.key)) {
        tr.classList.remove("rw-flash");
        flashing.push(tr);
      }
    };
    reconcile(body, model.get("page_rows"), () => makeRow(model, columns, editable), update);
    if (flashing.length) {
      void body.offsetWidth; // one layout for all rows, so their highlight animations start again
      for (const tr of flashing) tr.classList.add("rw-flash");
    }
  }
  return { body, draw };
}

// ---------------------------------------------------------------- the pager

function pager(model) {
  const bar = element("div", { class: "rw-bar rw-pager" });
  const first = element("button", { "aria-label": "First page" }, "«");
  const previous = element("button", { "aria-label": "Previous page" }, "‹");
  const label = element("span", { class: "rw-page" });
  const next = element("button", { "aria-label": "Next page" }, "›");
  const last = element("button", { "aria-label": "Last page" }, "»");
  const jump = element("input", { type: "number", min: "1", "aria-label": "Go to page", placeholder: "page" });
  jump.style.width = "6em";
  bar.append(first, previous, label, next, last, jump);

  const pageCount = () => Math.max(1, Math.ceil(model.get("matched") / model.get("page_size")));
  function goTo(page) {
    model.set("page", Math.min(Math.max(0, page), pageCount() - 1));
    model.save_changes();
  }
  first.addEventListener("click", () => goTo(0));
  previous.addEventListener("click", () => goTo(model.get("page") - 1));
  next.addEventListener("click", () => goTo(model.get("page") + 1));
  last.addEventListener("click", () => goTo(pageCount() - 1));
  // Enter jumps to the page typed (counted from 1, as shown); a number past either end goes to that end.
  jump.addEventListener("keydown", (event) => {
    const typed = Number.parseInt(jump.value, 10);
    if (event.key !== "Enter" || Number.isNaN(typed)) return;
    goTo(typed - 1);
    jump.value = "";
  });

  function draw() {
    const pages = pageCount();
    const page = model.get("page");
    label.textContent = `page ${page + 1} of ${pages}`;
    first.disabled = previous.disabled = page <= 0;
    next.disabled = last.disabled = page + 1 >= pages;
    jump.max = String(pages);
    bar.hidden = pages <= 1;
  }
  return { bar, draw };
}

// ---------------------------------------------------------------- adding a row

// The kernel parses the text and refuses what is not a JSON object, with a message.
function adder(model) {
  const bar = element("div", { class: "rw-bar rw-add" });
  const input = element("input", { placeholder: '{"field": "value"}', "aria-label": "New row as JSON", size: 40 });
  const add = element("button", {}, "Add row");
  bar.append(input, add);
  const addRow = () => {
    if (input.value.trim()) model.send({ type: "insert", text: input.value });
    input.value = "";
  };
  add.addEventListener("click", addRow);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") addRow();
  });
  return bar;
}

// ---------------------------------------------------------------- the view

function render({ model, el }) {
  const root = element("fieldset", { class: "rw-table" }); // disabled while not live (shared.js)
  root.append(element("style", {}, STYLE));
  const bar = element("div", { class: "rw-bar" });
  const title = element("span", { class: "rw-title" });
  const status = element("span", { class: "rw-status", role: "status" });
  const loading = element("progress", { class: "rw-progress", "aria-label": "Rows loaded" });
  const filter = filterBox(model);
  bar.append(title, status, loading, filter);
  const troubleBox = element("div", { class: "rw-trouble", role: "alert" });
  const head = header(model);
  const body = rows(model);
  const table = element("table");
  table.append(head.head, body.body);
  const pages = pager(model);
  const adding = adder(model);
  const message = element("div", { class: "rw-message", role: "alert" });
  const offline = element("div", { class: "rw-offline" });
  root.append(bar, troubleBox, table, pages.bar, adding, message, offline);
  el.append(root);

  const kernel = watchKernel(model, root, offline, drawStatus);

  // Everything but the table's rows: the status line, the trouble box, the pager, the adder and the message.
  function drawStatus() {
    const state = kernel.stale() ? "not live" : model.get("status");
    const problem = trouble(state);
    title.textContent = model.get("title");
    status.dataset.state = state.split(/[: ]/)[0];
    status.textContent = problem ? problem.kind : statusText(model, state);
    drawProgress(loading, model);
    troubleBox.hidden = !problem;
    troubleBox.dataset.kind = problem ? problem.kind : "";
    troubleBox.textContent = problem ? problem.text : "";
    filter.hidden = table.hidden = !!problem;
    pages.draw();
    pages.bar.hidden ||= !!problem;
    adding.hidden = !!problem || !model.get("editable");
    message.textContent = model.get("message");
  }

  function draw() {
    kernel.heard();
    head.draw();
    body.draw();
    drawStatus();
  }

  model.on("change:version", draw);
  model.on("change:sort", head.draw);
  model.on("change:message", drawStatus);
  head.draw();
  body.draw();
  drawStatus();
  return kernel.stop;
}

export default { render };
