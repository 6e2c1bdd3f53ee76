// Shared by the sweep page and the run explorer (inlined before each page's own script):
// HTML escaping and a small Vega tooltip handler used instead of vega-tooltip.
const gjEsc = (s) => String(s).replace(/[&<>"]/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function gjTooltip(tip) {
  return function tooltip(handler, event, item, value) {
    if (value == null || value === "" || !event) { tip.style.display = "none"; return; }
    tip.innerHTML = typeof value === "object"
      ? "<table>" + Object.entries(value).map(([k, v]) =>
        `<tr><th>${gjEsc(k)}</th><td>${gjEsc(v)}</td></tr>`).join("") + "</table>"
      : gjEsc(value);
    tip.style.display = "block";
    const pad = 14, w = tip.offsetWidth, h = tip.offsetHeight;
    let x = event.clientX + pad, y = event.clientY + pad;
    if (x + w > window.innerWidth - 4) x = event.clientX - w - pad;
    if (y + h > window.innerHeight - 4) y = event.clientY - h - pad;
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = Math.max(4, y) + "px";
  };
}
