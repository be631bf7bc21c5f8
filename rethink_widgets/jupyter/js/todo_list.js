// TodoList's view: the items the kernel keeps in the model; every action is a request the kernel validates.
// A checkbox flips at once (the browser's own state) and the kernel's next update confirms or rolls it back.
// Text is always set as text (textContent, input values), never parsed as HTML.

const STYLE = `
.rw-todo { font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222); max-width: 40em; }
.rw-todo .rw-bar { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.rw-todo .rw-title { font-weight: 600; }
.rw-todo .rw-status { color: var(--jp-ui-font-color2, #666); }
.rw-todo input[type=text] { font: inherit; color: inherit; background: var(--jp-input-background, transparent);
  border: 1px solid var(--jp-border-color1, #bbb); padding: 3px 6px; flex: 1; }
.rw-todo button { font: inherit; color: inherit; background: var(--jp-layout-color2, #eee);
  border: 1px solid var(--jp-border-color1, #bbb); cursor: pointer; padding: 1px 6px; }
.rw-todo ul { list-style: none; padding: 0; margin: 4px 0; }
.rw-todo li { display: flex; gap: 8px; align-items: center; padding: 3px 0;
  border-bottom: 1px solid var(--jp-border-color2, #e4e4e4); }
.rw-todo li .rw-text { flex: 1; white-space: pre-wrap; overflow-wrap: anywhere; cursor: text; }
.rw-todo li.rw-done .rw-text { text-decoration: line-through; color: var(--jp-ui-font-color2, #888); }
.rw-todo li button { visibility: hidden; }
.rw-todo li:hover button, .rw-todo li:focus-within button { visibility: visible; }
.rw-todo .rw-message { color: var(--jp-error-color1, #c22); }
.rw-todo .rw-offline { color: var(--jp-warn-color1, #c80); }
/* A saved snapshot has no kernel to act for it: what it shows cannot be changed. */
.rw-todo.rw-stale input[type=text], .rw-todo.rw-stale button { visibility: hidden; }
.rw-todo.rw-stale input[type=checkbox] { pointer-events: none; }
`;

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const root = element("div", { class: "rw-todo" });
  root.append(element("style", {}, STYLE));
  const head = element("div", { class: "rw-bar" });
  const title = element("span", { class: "rw-title" });
  const status = element("span", { class: "rw-status", role: "status" });
  head.append(title, status);
  const entry = element("div", { class: "rw-bar" });
  const input = element("input", { type: "text", placeholder: "What needs doing?", "aria-label": "New item" });
  entry.append(input);
  const list = element("ul", { "aria-label": "Items" });
  const foot = element("div", { class: "rw-bar" });
  const left = element("span", { class: "rw-left" });
  const clear = element("button", {}, "Clear completed");
  foot.append(left, clear);
  const message = element("div", { class: "rw-message", role: "alert" });
  const offline = element("div", { class: "rw-offline" });
  root.append(head, entry, list, foot, message, offline);
  el.append(root);

  // A view drawn from saved state (no kernel behind it) says so rather than claiming to be live.
  let live = false;
  let stale = false;
  const hello = setTimeout(() => {
    if (live) return;
    stale = true;
    root.classList.add("rw-stale");
    offline.textContent = "Not live: no kernel is answering; this is the last saved snapshot.";
    draw();
  }, 3000);
  // Replies go to every view of the model: a request's number carries this view's own mark.
  const mark = Math.random().toString(36).slice(2);
  let adding = 0;
  const pending = new Map(); // request reference -> the text sent
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "added") {
      if (input.value === pending.get(msg.ref)) input.value = "";
      pending.delete(msg.ref);
    }
    if (msg && msg.type === "live") {
      live = true;
      stale = false;
      root.classList.remove("rw-stale");
      offline.textContent = "";
      draw();
    }
  });
  model.send({ type: "hello" });

  input.addEventListener("keydown", (event) => {
    // The kernel judges the text (empty, too long): a refusal comes back as the message and the text stays to
    // be fixed; the box empties when the kernel says the item was added.
    if (event.key === "Enter") {
      adding += 1;
      const ref = `${mark}:${adding}`;
      pending.set(ref, input.value);
      model.send({ type: "add", text: input.value, ref });
    }
  });
  clear.addEventListener("click", () => model.send({ type: "clear_completed" }));

  function startEdit(li) {
    const label = li.querySelector(".rw-text");
    if (!label || li.querySelector("input[type=text]")) return;
    const editor = element("input", { type: "text", "aria-label": "Edit item" });
    editor.value = li.item.text;
    label.replaceWith(editor);
    editor.focus();
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      if (save && editor.value !== li.item.text) model.send({ type: "edit", id: li.item.id, text: editor.value });
      label.textContent = li.item.text;
      editor.replaceWith(label);
    };
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      else if (event.key === "Escape") finish(false);
    });
    editor.addEventListener("blur", () => finish(true));
  }

  function makeItem() {
    const li = element("li");
    const box = element("input", { type: "checkbox" });
    box.addEventListener("change", () => model.send({ type: "toggle", id: li.item.id, done: box.checked }));
    const label = element("span", { class: "rw-text", tabindex: "0" });
    label.addEventListener("dblclick", () => startEdit(li));
    label.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === "F2") startEdit(li);
    });
    const remove = element("button", { "aria-label": "Delete item", title: "Delete" }, "✕");
    remove.addEventListener("click", () => model.send({ type: "delete", id: li.item.id }));
    li.append(box, label, remove);
    return li;
  }

  // Items are kept by key, so an item being edited survives changes to the others.
  function drawItems() {
    const kept = new Map();
    for (const li of list.children) kept.set(li.dataset.key, li);
    const items = model.get("items_shown").map((item) => {
      const li = kept.get(item.key) || makeItem();
      li.dataset.key = item.key;
      li.item = item;
      li.classList.toggle("rw-done", item.done);
      const box = li.querySelector("input[type=checkbox]");
      box.checked = item.done;
      box.setAttribute("aria-label", `Done: ${item.text}`);
      const label = li.querySelector(".rw-text");
      if (label) label.textContent = item.text;
      return li;
    });
    items.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    while (list.children.length > items.length) list.lastElementChild.remove();
  }

  function draw() {
    title.textContent = model.get("title");
    status.textContent = stale ? "not live" : model.get("status");
    const count = model.get("left");
    left.textContent = `${count} item${count === 1 ? "" : "s"} left`;
    clear.hidden = model.get("total") === count;
    message.textContent = model.get("message");
    drawItems();
  }

  model.on("change:version", () => {
    live = true;
    stale = false;
    root.classList.remove("rw-stale");
    offline.textContent = "";
    draw();
  });
  model.on("change:message", () => {
    message.textContent = model.get("message");
  });

  draw();
  return () => clearTimeout(hello);
}

export default { render };
