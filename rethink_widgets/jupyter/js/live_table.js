// LiveTable's view: draws the page of rows the kernel keeps in the model, and sends edits back as requests.
// Everything shown comes from synced traits, so a reload or a second view draws the same table; values are always
// set as text (textContent), never parsed as HTML.

const STYLE = `
.rw-table { font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color1, #fff); }
.rw-table .rw-bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
.rw-table .rw-title { font-weight: 600; }
.rw-table .rw-status { color: var(--jp-ui-font-color2, #666); }
.rw-table .rw-status[data-state="ready"]::before { content: "● "; color: var(--jp-success-color1, #2a2); }
.rw-table .rw-status[data-state="reconnecting"]::before,
.rw-table .rw-status[data-state="connecting"]::before,
.rw-table .rw-status[data-state="initializing"]::before { content: "● "; color: var(--jp-warn-color1, #c80); }
.rw-table .rw-status[data-state="error"]::before,
.rw-table .rw-status[data-state="closed"]::before { content: "● "; color: var(--jp-error-color1, #c22); }
.rw-table input { font: inherit; color: inherit; background: var(--jp-input-background, transparent);
  border: 1px solid var(--jp-border-color1, #bbb); padding: 2px 4px; }
.rw-table button { font: inherit; color: inherit; background: var(--jp-layout-color2, #eee);
  border: 1px solid var(--jp-border-color1, #bbb); cursor: pointer; padding: 1px 6px; }
.rw-table button:disabled { opacity: 0.5; cursor: default; }
.rw-table table { border-collapse: collapse; margin: 4px 0; }
.rw-table th, .rw-table td { border: 1px solid var(--jp-border-color2, #ddd); padding: 2px 6px; text-align: left;
  max-width: 40em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.rw-table th { cursor: pointer; user-select: none; background: var(--jp-layout-color2, #f4f4f4); }
.rw-table th[aria-sort="ascending"]::after { content: " ▲"; }
.rw-table th[aria-sort="descending"]::after { content: " ▼"; }
.rw-table td.rw-nested { font-family: var(--jp-code-font-family, monospace); }
.rw-table td.rw-missing { color: var(--jp-ui-font-color3, #aaa); }
.rw-table tr.rw-flash td { animation: rw-flash 1s ease-out; }
@keyframes rw-flash { from { background: var(--jp-warn-color3, #ffe9a8); } to { background: transparent; } }
.rw-table .rw-message { color: var(--jp-error-color1, #c22); }
.rw-table .rw-offline { color: var(--jp-warn-color1, #c80); }
/* A saved snapshot has no kernel to act for it: no controls that would do nothing. */
.rw-table.rw-stale button, .rw-table.rw-stale input { visibility: hidden; }
.rw-table.rw-stale th { cursor: default; }
`;

function cellText(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const root = element("div", { class: "rw-table" });
  root.append(element("style", {}, STYLE));
  const bar = element("div", { class: "rw-bar" });
  const title = element("span", { class: "rw-title" });
  const status = element("span", { class: "rw-status", role: "status" });
  const filter = element("input", { type: "search", placeholder: "Filter", "aria-label": "Filter rows" });
  bar.append(title, status, filter);
  const table = element("table");
  const head = element("thead");
  const body = element("tbody");
  table.append(head, body);
  const pager = element("div", { class: "rw-bar rw-pager" });
  const first = element("button", { "aria-label": "First page" }, "«");
  const previous = element("button", { "aria-label": "Previous page" }, "‹");
  const pageLabel = element("span", { class: "rw-page" });
  const next = element("button", { "aria-label": "Next page" }, "›");
  const last = element("button", { "aria-label": "Last page" }, "»");
  const jump = element("input", { type: "number", min: "1", "aria-label": "Go to page", placeholder: "page" });
  jump.style.width = "6em";
  pager.append(first, previous, pageLabel, next, last, jump);
  const adder = element("div", { class: "rw-bar rw-add" });
  const addInput = element("input", { placeholder: '{"field": "value"}', "aria-label": "New row as JSON", size: 40 });
  const add = element("button", {}, "Add row");
  adder.append(addInput, add);
  const message = element("div", { class: "rw-message", role: "alert" });
  const offline = element("div", { class: "rw-offline" });
  root.append(bar, table, pager, adder, message, offline);
  el.append(root);

  // A view drawn from saved state (no kernel behind it) says so rather than claiming to be live.
  let live = false;
  let stale = false;
  const hello = setTimeout(() => {
    if (live) return;
    stale = true;
    root.classList.add("rw-stale");
    offline.textContent = "Not live: no kernel is answering; this is the last saved snapshot.";
    drawStatus();
  }, 3000);
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "live") {
      live = true;
      stale = false;
      root.classList.remove("rw-stale");
      offline.textContent = "";
      drawStatus();
    }
  });
  model.send({ type: "hello" });

  function setSort(column) {
    const [current, direction] = model.get("sort") || [];
    let sort = [column, "asc"];
    if (current === column && direction === "asc") sort = [column, "desc"];
    else if (current === column && direction === "desc") sort = [];
    model.set("sort", sort);
    model.set("page", 0);
    model.save_changes();
  }

  let heading = "";
  function drawHead() {
    const [sorted, direction] = model.get("sort") || [];
    const signature = JSON.stringify([model.get("columns"), sorted, direction, model.get("editable")]);
    if (signature === heading) return; // redrawing would lose the keyboard focus of a header
    heading = signature;
    const row = element("tr");
    for (const column of model.get("columns")) {
      const th = element("th", { scope: "col", tabindex: "0" }, column);
      if (column === sorted) th.setAttribute("aria-sort", direction === "desc" ? "descending" : "ascending");
      th.addEventListener("click", () => setSort(column));
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          setSort(column);
        }
      });
      row.append(th);
    }
    if (model.get("editable")) row.append(element("th", { "aria-label": "Actions" }));
    head.replaceChildren(row);
  }

  // An edit keeps the row's revision from when it began: if the row changes meanwhile, the kernel refuses it.
  function editCell(td, column) {
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

  function fillCell(td, value) {
    td.textContent = cellText(value);
    td.title = cellText(value);
    td.classList.toggle("rw-missing", value === undefined);
    td.classList.toggle("rw-nested", value !== null && typeof value === "object");
  }

  function makeRow(columns, editable) {
    const tr = element("tr");
    for (const column of columns) {
      const td = element("td");
      td.addEventListener("dblclick", () => editCell(td, column));
      if (editable && column !== model.get("key_column")) {
        td.tabIndex = 0; // keyboard users edit with Enter or F2
        td.addEventListener("keydown", (event) => {
          if ((event.key === "Enter" || event.key === "F2") && event.target === td) editCell(td, column);
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

  // Rows are kept by key, so a cell being edited survives updates to other rows.
  let shape = "";
  function drawBody() {
    const columns = model.get("columns");
    const editable = model.get("editable");
    const changed = new Set(model.get("changed"));
    const layout = JSON.stringify([columns, editable]);
    const kept = new Map();
    if (layout === shape) for (const tr of body.children) kept.set(tr.dataset.key, tr);
    shape = layout;
    const flashing = [];
    const rows = model.get("page_rows").map((row) => {
      const tr = kept.get(row.key) || makeRow(columns, editable);
      tr.dataset.key = row.key;
      tr.row = row;
      columns.forEach((column, i) => {
        const td = tr.children[i];
        if (!td.querySelector("input")) fillCell(td, row.cells[column]);
      });
      if (changed.has(row.key)) {
        tr.classList.remove("rw-flash");
        flashing.push(tr);
      }
      return tr;
    });
    // Move only what moved: a row taken out and put back would lose the focus of a cell being edited.
    rows.forEach((tr, i) => {
      if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
    });
    while (body.children.length > rows.length) body.lastElementChild.remove();
    if (flashing.length) {
      void body.offsetWidth; // one layout for all rows, so their highlight animations start again
      for (const tr of flashing) tr.classList.add("rw-flash");
    }
  }

  function drawStatus() {
    const state = stale ? "not live" : model.get("status");
    title.textContent = model.get("title");
    status.dataset.state = state.split(":")[0];
    const total = model.get("total");
    const matched = model.get("matched");
    const counted = matched === total ? `${total} rows` : `${matched} of ${total} rows`;
    status.textContent = `${state} · ${counted} · ${model.get("rate").toFixed(0)} changes/s`;
    const pages = pageCount();
    const page = model.get("page");
    pageLabel.textContent = `page ${page + 1} of ${pages}`;
    first.disabled = previous.disabled = page <= 0;
    next.disabled = last.disabled = page + 1 >= pages;
    jump.max = String(pages);
    pager.hidden = pages <= 1;
    adder.hidden = !model.get("editable");
    message.textContent = model.get("message");
  }

  function draw() {
    live = true;
    stale = false;
    root.classList.remove("rw-stale");
    offline.textContent = "";
    drawHead();
    drawBody();
    drawStatus();
  }

  function pageCount() {
    return Math.max(1, Math.ceil(model.get("matched") / model.get("page_size")));
  }
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
  let typing;
  filter.value = model.get("filter");
  filter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      model.set("filter", filter.value);
      model.set("page", 0);
      model.save_changes();
    }, 200);
  });
  const addRow = () => {
    if (addInput.value.trim()) model.send({ type: "insert", text: addInput.value });
    addInput.value = "";
  };
  add.addEventListener("click", addRow);
  addInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") addRow();
  });

  model.on("change:version", draw);
  model.on("change:sort", drawHead);
  model.on("change:message", drawStatus);
  drawHead();
  drawBody();
  drawStatus();
  return () => clearTimeout(hello);
}

export default { render };
