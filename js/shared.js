// What both widgets' views share: building elements, the "not live" handshake with the kernel, keeping a list's
// children by key, counts in words, and the box that shows a widget's trouble. Values are always set as text (textContent), never parsed as HTML.

export function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A view drawn from saved state (no kernel behind it) says so rather than claiming to be live. The view says hello;
// the kernel's answer `live` (see messages.py) or any update from it shows a kernel is there: the view calls
// `heard()` on each update. `redraw` draws what depends on `stale()`; call `stop()` when the view goes away.
export function greetKernel(model, root, offline, redraw) {
  let live = false;
  let stale = false;
  const heard = () => {
    live = true;
    stale = false;
    root.classList.remove("rw-stale");
    offline.textContent = "";
  };
  const silence = setTimeout(() => {
    if (live) return;
    stale = true;
    root.classList.add("rw-stale");
    offline.textContent = "Not live: no kernel is answering; this is the last saved snapshot.";
    redraw();
  }, 3000);
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "live") {
      heard();
      redraw();
    }
  });
  model.send({ type: "hello" });
  return { heard, stale: () => stale, stop: () => clearTimeout(silence) };
}

// Makes `parent`'s children match `entries` (each with a `key`), keeping each child by its key (data-key): one made
// by `make()` for a new key, `update(child, entry)` for every one. Only what moved is moved: a child taken out and
// put back would lose the focus of an input inside it, such as a cell or an item being edited.
export function reconcile(parent, entries, make, update) {
  const kept = new Map();
  for (const child of parent.children) kept.set(child.dataset.key, child);
  const children = entries.map((entry) => {
    const child = kept.get(entry.key) || make();
    child.dataset.key = entry.key;
    update(child, entry);
    return child;
  });
  children.forEach((child, i) => {
    if (parent.children[i] !== child) parent.insertBefore(child, parent.children[i] || null);
  });
  while (parent.children.length > children.length) parent.lastElementChild.remove();
}

// "1 row", "2 rows".
export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// A status that leaves the widget unable to show its rows: an error, or waiting for its table to be created. The
// widget shows `text` prominently instead of controls that cannot work; a feed that stopped says how to go on.
export function trouble(status) {
  const kind = status.split(/[: ]/)[0];
  if (kind === "waiting") return { kind, text: `${status[0].toUpperCase()}${status.slice(1)}: it shows once it is.` };
  if (kind !== "error") return null;
  const reason = status.slice("error: ".length);
  const retrying = reason.endsWith("(retrying)");
  return { kind, text: retrying ? reason : `${reason} The feed stopped: fix the query and run its cell again.` };
}
