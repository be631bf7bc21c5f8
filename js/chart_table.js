// The module of LiveChart's Perspective viewer (chart_table.Viewer): Perspective's own widget module, evaluated once
// per page. anywidget evaluates a widget's module for every model, and Perspective 5.6's defines custom elements
// unguarded, so a second evaluation throws and a second viewer on the page fails to draw. Perspective's code comes
// in the model (`_perspective`, its anywidget module as shipped); the first viewer to render loads it, the others
// reuse it.

const LOADED = Symbol.for("rethink_widgets.perspective");

function perspective(model) {
  if (!globalThis[LOADED]) {
    const url = URL.createObjectURL(new Blob([model.get("_perspective")], { type: "text/javascript" }));
    globalThis[LOADED] = import(/* webpackIgnore: true */ url);
  }
  return globalThis[LOADED];
}

export default {
  async render(context) {
    const module = await perspective(context.model);
    return module.default.render(context);
  },
};
