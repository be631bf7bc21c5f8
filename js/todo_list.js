// TodoList's view: the items the kernel keeps in the model; every action is a request the kernel validates (see
// messages.py). A checkbox flips at once (the browser's own state) and the kernel's next update confirms or rolls
// it back. Text is always set as text (textContent, input values), never parsed as HTML. Documents of the table that
// are not items (no `text` string) are not shown, and a line says how many; a widget in trouble (an error, or waiting
// for its table) says so in place of the list and its controls.

import { element, frame, plural, reconcile, watchKernel } from "./shared.js";
import OWN_STYLE from "./todo_list.css";
import SHARED_STYLE from "./widgets.css";

const STYLE = SHARED_STYLE + OWN_STYLE;

// The box for a new item. The kernel judges the text (empty, too long): a refusal comes back as the message and
// the text stays to be fixed; the box empties when the kernel says the item was added. Replies go to every view of
// the model: a request's reference carries this view's own mark.
function entryBox(model, request) {
  const input = element("input", { type: "text", placeholder: "What needs doing?", "aria-label": "New item" });
  const mark = Math.random().toString(36).slice(2);
  let adding = 0;
  const pending = new Map(); // request reference -> the text sent
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "added") {
      if (input.value === pending.get(msg.ref)) input.value = "";
      pending.delete(msg.ref);
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      adding += 1;
      const ref = `${mark}:${adding}`;
      pending.set(ref, input.value);
      request({ type: "add", text: input.value, ref }, input.parentElement);
    }
  });
  return input;
}

function startEdit(request, li) {
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
    if (save && editor.value !== li.item.text) request({ type: "edit", id: li.item.id, text: editor.value }, li);
    label.textContent = li.item.text;
    editor.replaceWith(label);
  };
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    else if (event.key === "Escape") finish(false);
  });
  editor.addEventListener("blur", () => finish(true));
}

function makeItem(request) {
  const li = element("li");
  const box = element("input", { type: "checkbox" });
  box.addEventListener("change", () => request({ type: "toggle", id: li.item.id, done: box.checked }, li));
  const label = element("span", { class: "rw-text", tabindex: "0" });
  label.addEventListener("dblclick", () => startEdit(request, li));
  label.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === "F2") startEdit(request, li);
  });
  const remove = element("button", { "aria-label": "Delete item", title: "Delete" }, "✕");
  remove.addEventListener("click", () => request({ type: "delete", id: li.item.id }, li));
  li.append(box, label, remove);
  return li;
}

function fillItem(li, item) {
  li.item = item;
  li.classList.toggle("rw-done", item.done);
  const box = li.querySelector("input[type=checkbox]");
  box.checked = item.done;
  box.setAttribute("aria-label", `Done: ${item.text}`);
  const label = li.querySelector(".rw-text"); // not there while the item is being edited
  if (label) label.textContent = item.text;
}

function render({ model, el }) {
  const { root, bar, troubleBox, message, offline, drawState } = frame(model, "rw-todo", STYLE);
  const entry = element("div", { class: "rw-bar" });
  // A refusal shows next to what it concerns: the item acted on, the new item's box, or "Clear completed".
  let concerned = null;
  function request(content, where) {
    concerned = where;
    model.send(content);
  }
  function placeMessage() {
    message.textContent = model.get("message");
    const item = concerned && concerned.tagName === "LI";
    if (item && concerned.parentElement === list) concerned.append(message);
    else ((!item && concerned) || foot).after(message); // an item gone meanwhile: below the list
  }
  entry.append(entryBox(model, request));
  const list = element("ul", { "aria-label": "Items" });
  const others = element("div", { class: "rw-others" });
  const foot = element("div", { class: "rw-bar" });
  const left = element("span", { class: "rw-left" });
  const clear = element("button", {}, "Clear completed");
  clear.addEventListener("click", () => request({ type: "clear_completed" }, foot));
  foot.append(left, clear);
  root.append(bar, troubleBox, entry, list, others, foot, message, offline);
  el.append(root);

  const kernel = watchKernel(model, root, offline, draw);

  function draw() {
    const problem = drawState(kernel.stale(), (state) => state);
    entry.hidden = list.hidden = foot.hidden = !!problem;
    const count = model.get("left");
    left.textContent = `${plural(count, "item")} left`;
    clear.hidden = model.get("total") === count;
    const skipped = model.get("others");
    others.hidden = !!problem || skipped === 0;
    others.textContent = `${plural(skipped, "document")} ${skipped === 1 ? "is not a todo item" : "are not todo items"}`
      + " (no `text` string): not shown.";
    // Items are kept by key, so an item being edited survives changes to the others.
    reconcile(list, model.get("items_shown"), () => makeItem(request), fillItem);
    placeMessage();
  }

  model.on("change:version", () => {
    kernel.heard();
    draw();
  });
  model.on("change:message", placeMessage);
  draw();
  return kernel.stop;
}

export default { render };
