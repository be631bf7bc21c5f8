// The module of LiveChart's Perspective viewer (chart_table.Viewer): Perspective's own widget module, evaluated once
// per page. anywidget evaluates a widget's module for every model, and Perspective 5.6's defines custom elements
// unguarded, so a second evaluation throws and a second viewer on the page fails to draw. So the first viewer to
// render asks its kernel for Perspective's module (as shipped in perspective-python, 6 MB: asked for, not kept in the
// model, so a saved notebook does not hold a copy per chart), loads it, and every later viewer reuses it.

const LOADED = Symbol.for("rethink_widgets.perspective");

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

async function perspective(model) {
  if (!globalThis[LOADED]) {
    const source = await askForModule(model);
    // Another viewer may have loaded it meanwhile.
    globalThis[LOADED] ??= import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  }
  return globalThis[LOADED];
}

export default {
  async render(context) {
    const module = await perspective(context.model);
    return module.default.render(context);
  },
};
