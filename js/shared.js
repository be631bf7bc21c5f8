// What both widgets' views share: building elements, knowing whether a kernel answers for the widget, keeping a
// list's children by key, counts in words, and the box that shows a widget's trouble. Values are always set as text
// (textContent), never parsed as HTML.

export function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------- is a kernel answering for this widget?

const PING_EVERY = 2000; // ms: how often a view asks, when it has heard nothing else from the kernel
const SILENCE = 5000; // ms of unanswered asking, while the kernel could answer, before a view says it is not live
const TICK = 1000;

// What a view says when no kernel answers for its widget: why, and what to do.
export const NOT_LIVE = {
  // For good: the kernel that made the widget is gone, and with it the widget (a new kernel has no such widget).
  restarted: "Not live: the kernel restarted, so this widget is gone. Re-run this cell.",
  died: "Not live: the kernel died and was started again, so this widget is gone. Re-run this cell.",
  stopped: "Not live: the kernel stopped. Start it again (Kernel ▸ Restart Kernel…), then re-run this cell.",
  changed: "Not live: the notebook now runs another kernel, which does not have this widget. Re-run this cell.",
  // For now: an answer makes the view live again.
  snapshot: "Not live: no kernel is running for this notebook; this is the last saved snapshot.",
  earlierRun:
    "Not live: this is the snapshot saved with the notebook; the running kernel does not have this widget " +
    "(an earlier run made it). Re-run this cell.",
  silent: "Not live: the kernel does not answer for this widget. Re-run this cell.",
  // A front end that does not tell the kernel's status (no `kernel` on its widget manager) leaves two causes open.
  unanswered:
    "Not live for now: the kernel has not answered for a while. If it is running a long cell, this view catches " +
    "up when the cell is done; if it restarted, re-run this cell.",
  disconnected: "Not live: the browser lost its connection to the kernel; reconnecting…",
  // A notebook served as an app (Voilà): no cells to run again, no Kernel menu; a reload brings a new kernel.
  appEnded: "Not live: this page's kernel has ended (the page was away for a while, or the app restarted). " +
    "Reload the page to go on.",
};

// Voilà marks its page's body (`data-voila`). There a kernel can end with no word to the page (shut down, its
// connection stays open and silent), and every way a widget goes for good means the same to a visitor: reload.
const APP_PAGE = typeof document !== "undefined" && document.body?.dataset.voila !== undefined;
const FOR_GOOD = [NOT_LIVE.restarted, NOT_LIVE.died, NOT_LIVE.stopped, NOT_LIVE.changed, NOT_LIVE.silent];
export const BUSY = "The kernel is busy running a cell; this view catches up when the cell is done.";

// The notebook's kernel connection, when the front end tells (JupyterLab and Notebook 7 do, through the widget
// manager): null when the notebook has no kernel, undefined when the front end does not say.
function notebookKernel(model) {
  try {
    const manager = model.widget_manager;
    return manager && "kernel" in manager ? manager.kernel : undefined;
  } catch {
    return undefined; // a manager already disposed
  }
}

// A view is live exactly while a kernel answers for its widget. It asks (a `hello`, which the kernel answers with
// `live` at once, from whichever thread gets it: see messages.py) every few seconds when it has heard nothing else,
// until a kernel whose status it can read has answered; `heard()` counts every update from the kernel as an answer. Silence counts only while the kernel could answer:
// not while it runs a cell (without subshells, widget messages wait behind the cell) nor while the browser is
// reconnecting to it. The kernel's own status tells what no silence can: a restart, a stop or another kernel
// means the widget is gone for good. While not live, the view's controls are disabled: `root` is a fieldset, and
// clicks and keys that would edit are stopped. `redraw` draws what depends on `stale()`; call `stop()` when the
// view goes away.
export function watchKernel(model, root, notice, redraw) {
  const first = notebookKernel(model);
  let heardAt = 0; // when the kernel last answered (0: never)
  let askedAt = 0;
  let lastTick = Date.now();
  let busySince = 0; // when the kernel began the cell it is running (0: idle)
  let silence = 0; // ms asked and unanswered
  let answerable = 0; // of which the kernel could have answered
  let gone = ""; // why no kernel will ever answer again
  let shown = null;

  function show(said) {
    const reason = APP_PAGE && FOR_GOOD.includes(said) ? NOT_LIVE.appEnded : said;
    if (reason === shown) return;
    shown = reason;
    const live = !Object.values(NOT_LIVE).includes(reason);
    root.disabled = !live;
    root.classList.toggle("rw-stale", !live && !heardAt); // never live: a saved snapshot, without controls
    root.classList.toggle("rw-gone", !live && !!heardAt);
    notice.textContent = reason;
    redraw();
  }

  function heard() {
    if (gone) return;
    heardAt = Date.now();
    silence = answerable = 0;
    show("");
  }

  function end(reason) {
    // A kernel that died is first said `restarting`, then `autorestarting`: the second says more.
    if (!gone || (gone === NOT_LIVE.restarted && reason === NOT_LIVE.died)) gone = reason;
    show(gone);
  }

  function onStatus(_, status) {
    if (status === "restarting") end(NOT_LIVE.restarted);
    else if (status === "autorestarting") end(NOT_LIVE.died);
    else if (status === "dead") end(NOT_LIVE.stopped);
  }
  if (first) first.statusChanged.connect(onStatus);

  // A message on a comm the kernel connection has closed (a restart, a stop) throws: the view says so instead.
  for (const name of ["send", "save_changes"]) {
    const original = model[name];
    model[name] = (...args) => {
      if (gone) return;
      try {
        original(...args);
      } catch {
        answerable = Math.max(answerable, SILENCE);
        tick();
      }
    };
  }

  function ask() {
    askedAt = Date.now();
    model.send({ type: "hello" });
  }

  function whySilent(kernel) {
    if (kernel === null) return heardAt ? NOT_LIVE.stopped : NOT_LIVE.snapshot;
    // The page gave up reconnecting: its kernel is gone (culled while the page was away).
    if (APP_PAGE && kernel && kernel.connectionStatus === "disconnected") return NOT_LIVE.appEnded;
    if (kernel && kernel.connectionStatus !== "connected") return NOT_LIVE.disconnected;
    if (kernel === undefined) return NOT_LIVE.unanswered;
    return heardAt ? NOT_LIVE.silent : NOT_LIVE.earlierRun;
  }

  function tick() {
    if (gone) return;
    const kernel = notebookKernel(model);
    if (first && kernel !== first) return end(kernel ? NOT_LIVE.changed : NOT_LIVE.stopped);
    if (kernel) onStatus(kernel, kernel.status);
    if (gone) return;
    const now = Date.now();
    const running = kernel && (kernel.status === "busy" || kernel.status === "starting");
    busySince = running ? busySince || now : 0;
    if (askedAt > heardAt) {
      const waited = now - Math.max(lastTick, askedAt);
      silence += waited;
      if (!running && !(kernel && kernel.connectionStatus !== "connected")) answerable += waited;
    }
    lastTick = now;
    // A cell that has kept the kernel busy, with nothing from it meanwhile, holds this widget's messages back.
    const heldBack = busySince && now - busySince >= SILENCE && now - heardAt >= SILENCE;
    if (answerable >= SILENCE || (kernel && kernel.connectionStatus !== "connected" && silence >= SILENCE)) {
      show(whySilent(kernel));
    } else if (silence >= SILENCE || heldBack) {
      show(BUSY);
    } else if (shown === BUSY && heardAt) {
      show("");
    }
    // Once the kernel has answered, its own status events tell a restart or a death, so a view that can read them
    // stops asking: a hello every few seconds from every view would keep an idle kernel busy (and never culled).
    // An app's page keeps asking, since its kernel can end without a word; its hellos keep no kernel from being
    // culled (one with a page connected never is: rethink_widgets/jupyter/app.py).
    const keepAsking = APP_PAGE || !(first && heardAt) || (kernel && kernel.connectionStatus !== "connected");
    if (keepAsking && now - Math.max(heardAt, askedAt) >= PING_EVERY) ask();
  }

  // Clicks and keys that would edit a cell, sort or act reach nothing while the view is not live.
  const block = (event) => {
    if (!root.disabled) return;
    if (event.type === "keydown" && !["Enter", "F2", " "].includes(event.key)) return;
    event.stopPropagation();
    event.preventDefault();
  };
  for (const type of ["click", "dblclick", "keydown"]) root.addEventListener(type, block, true);

  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "live") heard();
  });
  ask();
  const timer = setInterval(tick, TICK);
  return {
    heard,
    stale: () => root.disabled,
    stop: () => {
      clearInterval(timer);
      if (first) first.statusChanged.disconnect(onStatus);
    },
  };
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

// ---------------------------------------------------------------- what every widget's view is framed by

// A view's frame: a fieldset (disabled while not live: see watchKernel) holding the widget's styles, then the parts
// each widget places in its own order: the bar (title, then status), the trouble box, the message and the "not
// live" notice. `drawState(stale, describe)` draws the title, the status and the trouble box, and returns the
// trouble (null when none): with none, the status reads `describe(state)`.
export function frame(model, className, style) {
  const root = element("fieldset", { class: className });
  root.append(element("style", {}, style));
  const bar = element("div", { class: "rw-bar" });
  const title = element("span", { class: "rw-title" });
  const status = element("span", { class: "rw-status", role: "status" });
  bar.append(title, status);
  const troubleBox = element("div", { class: "rw-trouble", role: "alert" });
  const message = element("div", { class: "rw-message", role: "alert" });
  const offline = element("div", { class: "rw-offline" });

  function drawState(stale, describe) {
    const state = stale ? "not live" : model.get("status");
    const problem = trouble(state);
    title.textContent = model.get("title");
    status.dataset.state = state.split(/[: ]/)[0];
    status.textContent = problem ? problem.kind : describe(state);
    troubleBox.hidden = !problem;
    troubleBox.dataset.kind = problem ? problem.kind : "";
    troubleBox.textContent = problem ? problem.text : "";
    return problem;
  }
  return { root, bar, troubleBox, message, offline, drawState };
}
