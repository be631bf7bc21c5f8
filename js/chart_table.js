// The module of LiveChart's Perspective viewer (chart_table.Viewer): Perspective's own widget module, evaluated once
// per page. anywidget evaluates a widget's module for every model, and Perspective 5.6's defines custom elements
// unguarded, so a second evaluation throws and a second viewer on the page fails to draw. So the first viewer to
// render asks its kernel for Perspective's module (as shipped in perspective-python, 6 MB: asked for, not kept in the
// model, so a saved notebook does not hold a copy per chart), loads it, and every later viewer reuses it.
// The viewer is read-only: an edit in Perspective's datagrid would change the chart's table, never the database, so
// its edit mode is never turned on (nor by the kernel, for any view of the model).

const LOADED = Symbol.for("rethink_widgets.perspective");

// A person's own PerspectiveWidget beside a LiveChart evaluates Perspective's module once more (anywidget does, for
// its model), and so does our load when theirs came first: either defines Perspective's elements again, and the
// throw aborts that evaluation, so one of the two never draws. Both evaluations come from the same installed
// perspective-python, so the elements already defined serve both: a repeated definition is skipped, not thrown.
function shareElementDefinitions() {
  const registry = globalThis.customElements;
  if (registry[LOADED]) return;
  const define = registry.define.bind(registry);
  registry.define = (name, ...rest) => (registry.get(name) ? undefined : define(name, ...rest));
  registry[LOADED] = true;
}

function askForModule(model) {
  return new Promise((resolve) => {
    const listen = (msg, buffers) => {
      if (msg && msg.type === "perspective_module") {
        model.off("msg:custom", listen);
        resolve(new TextDecoder().decode(buffers[0]));
      }
    };
    model.on("msg:custom", listen);
    model.send({ type: "perspective_module" });
  });
}

// Viewers drawn at once (a reload of a notebook with several charts) share one request for the module; one that
// failed is asked for again by the next viewer.
function perspective(model) {
  shareElementDefinitions();
  globalThis[LOADED] ??= askForModule(model)
    .then((source) => import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))))
    .catch((error) => {
      delete globalThis[LOADED];
      throw error;
    });
  return globalThis[LOADED];
}

// Every change of configuration goes through the viewer's `restore` (its datagrid's edit toggle and settings call it,
// as does Perspective's widget when the model changes), so there an edit mode of EDIT becomes READ_ONLY.
function keepReadOnly(el) {
  const viewer = el.querySelector("perspective-viewer");
  const restore = viewer.restore.bind(viewer);
  const readOnly = (config, ...rest) => {
    const plugin = config && config.plugin_config;
    const editing = plugin && plugin.edit_mode === "EDIT";
    return restore(editing ? { ...config, plugin_config: { ...plugin, edit_mode: "READ_ONLY" } } : config, ...rest);
  };
  // Its class makes `restore` read-only: the element gets one of its own.
  Object.defineProperty(viewer, "restore", { value: readOnly, configurable: true });
}

// After a kernel restart the viewer's comm is gone, and Perspective's view still sends on it (a request as it
// redraws, a goodbye as it is removed): JupyterLab throws "Cannot send" for each. Nobody could get those messages,
// and LiveChart's own view already says the chart is not live, so they are dropped.
function quietWhenGone(model) {
  const send = (...args) => {
    try {
      return model.send(...args);
    } catch (error) {
      if (error.message !== "Cannot send") throw error;
    }
  };
  return new Proxy(model, {
    get(target, name) {
      if (name === "send") return send;
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

// Perspective's view hangs up its session in the kernel (`hangup`) only when it is removed, and a page that reloads
// or closes removes nothing: the kernel would keep the session, and the views it made, recomputed at every change of
// the chart, for good. So while a view's sessions are open (`connect`), the page going away hangs them up, as long
// as it can still send. A page kept to come back to (the browser's back-forward cache) keeps them.
// A page may be gone before its socket sends those hangups. So they are also written down in the tab's
// sessionStorage (which outlives a reload, and which a duplicated tab copies), and sent again by every later page of
// the tab that draws the chart, until the kernel says the session is hung up (`hung_up`). The kernel ignores a
// hangup of a session it does not have, so one sent twice does no harm.
const OWED = "rethink_widgets.hangups";

// The hangups not known to have reached a kernel: client ids by viewer (its `_viewer_id`), shared by the page.
function owedHangups() {
  if (!globalThis[Symbol.for(OWED)]) {
    let stored = {};
    try {
      stored = JSON.parse(sessionStorage.getItem(OWED)) || {};
    } catch {
      // unreadable (or no storage): nothing owed
    }
    globalThis[Symbol.for(OWED)] = stored;
  }
  return globalThis[Symbol.for(OWED)];
}

// Changes the hangups owed for a viewer: `sent` by a page going away, `done` once the kernel says so.
function settleOwed(viewer, sent, done) {
  const owed = owedHangups();
  const kept = new Set([...(owed[viewer] || []), ...sent]);
  done.forEach((client_id) => kept.delete(client_id));
  if (kept.size) owed[viewer] = [...kept];
  else delete owed[viewer];
  try {
    sessionStorage.setItem(OWED, JSON.stringify(owed));
  } catch {
    // storage full or refused: only this page's own hangups go out
  }
}

function hangUpWithPage(model) {
  const viewer = model.get("_viewer_id");
  const clients = new Set();
  const leave = (event) => {
    if (event.persisted) return;
    clients.forEach((client_id) => model.send({ type: "hangup", client_id }));
    settleOwed(viewer, clients, []);
  };
  const send = (content, ...rest) => {
    if (content && content.type === "connect") clients.add(content.client_id);
    if (content && content.type === "hangup") clients.delete(content.client_id);
    if (clients.size) window.addEventListener("pagehide", leave); // once, however often it is added
    else window.removeEventListener("pagehide", leave);
    return model.send(content, ...rest);
  };
  model.on("msg:custom", (content) => {
    if (content && content.type === "hung_up" && (owedHangups()[viewer] || []).includes(content.client_id)) {
      settleOwed(viewer, [], [content.client_id]);
    }
  });
  (owedHangups()[viewer] || []).forEach((client_id) => model.send({ type: "hangup", client_id }));
  return new Proxy(model, {
    get(target, name) {
      if (name === "send") return send;
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export default {
  async render(context) {
    const module = await perspective(context.model);
    const model = hangUpWithPage(quietWhenGone(context.model));
    const stop = await module.default.render({ ...context, model });
    keepReadOnly(context.el);
    return stop;
  },
};
