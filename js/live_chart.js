// LiveChart's view: a bar (title, status, row count) over Perspective's own viewer, which is a widget of its own
// (Perspective's anywidget, drawing from the Perspective table the kernel keeps current) shown inside this one. The
// bar and the "not live" notice come from this widget's model, kept by the kernel's feed as for LiveTable; when the
// schema widens the kernel gives the viewer a new table, and the viewer is drawn anew on it, its configuration kept.

import { element, frame, plural, watchKernel } from "./shared.js";
import OWN_STYLE from "./live_chart.css";
import SHARED_STYLE from "./widgets.css";

const STYLE = SHARED_STYLE + OWN_STYLE;

function statusText(model, state) {
  const { rows, of } = model.get("progress") || {};
  if (rows !== undefined) {
    // A snapshot is being written to the chart's table: the viewer shows the rows written so far.
    const written = of == null ? `${plural(rows, "row")} so far` : `${Math.min(rows, of)} of ${plural(of, "row")}`;
    return `${state} · ${written}`;
  }
  return `${state} · ${plural(model.get("total"), "row")}`;
}

// Draws the viewer widget the model names (once its table holds rows) into `host`, again whenever it gets a new
// table; returns a stop function.
function showViewer(model, host) {
  const manager = model.widget_manager;
  let shown = null; // the viewer's model
  let view = null;
  let drawing = Promise.resolve();
  let stopped = false;

  async function draw(viewerModel) {
    if (view) view.remove();
    view = null;
    host.replaceChildren();
    if (!viewerModel || stopped) return;
    const made = await manager.create_view(viewerModel);
    if (stopped) return made.remove();
    view = made;
    host.append(view.el);
  }
  const redraw = () => (drawing = drawing.then(() => draw(shown)).catch((error) => console.error(error)));

  async function follow() {
    const reference = model.get("_viewer");
    const next = reference ? await manager.get_model(reference.replace(/^IPY_MODEL_/, "")) : null;
    if (next === shown) return;
    if (shown) shown.off("change:table_name", redraw);
    shown = next;
    if (shown) shown.on("change:table_name", redraw);
    redraw();
  }
  model.on("change:_viewer", follow);
  follow();
  return () => {
    stopped = true;
    if (shown) shown.off("change:table_name", redraw);
    if (view) view.remove();
  };
}

function render({ model, el }) {
  const { root, bar, troubleBox, message, offline, drawState } = frame(model, "rw-chart", STYLE);
  const host = element("div", { class: "rw-viewer" });
  root.append(bar, troubleBox, offline, host, message);
  el.append(root);

  const kernel = watchKernel(model, root, offline, draw);

  function draw() {
    const problem = drawState(kernel.stale(), (state) => statusText(model, state));
    host.hidden = !!problem; // an error in place of the chart, not beside an empty one
    message.textContent = model.get("message");
  }

  model.on("change:version", () => {
    kernel.heard();
    draw();
  });
  model.on("change:message", draw);
  draw();
  const stopViewer = showViewer(model, host);
  return () => {
    stopViewer();
    kernel.stop();
  };
}

export default { render };
