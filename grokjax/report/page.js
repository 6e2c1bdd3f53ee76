// grokjax sweep page: live re-classification of the runs, cell curves, representative runs.
// Data: the JSON in #gj-data (Vega specs compiled by grokjax, curves, accuracy first-reach steps).
// Needs only the global `vegaEmbed` (inlined above, with Vega); makes no network request.
(() => {
  "use strict";
  const D = JSON.parse(document.getElementById("gj-data").textContent);
  const PH = D.phases;
  const $ = (id) => document.getElementById(id);
  const esc = gjEsc;
  const copy = (r) => { const o = {}; for (const k of Object.keys(r)) o[k] = r[k]; return o; };
  const num = (v) => (v === null || v === undefined ? NaN : v);
  const fmt = (v) => {
    if (!Number.isFinite(v)) return String(v);
    const s = Number(v.toPrecision(3));
    if (s !== 0 && (Math.abs(s) < 1e-3 || Math.abs(s) >= 1e5)) {
      return s.toExponential().replace("e+", "e");
    }
    return String(s);
  };
  const pct = (n, t) => (t ? Math.round((100 * n) / t) + "%" : "");

  // ---- tooltips (a small handler instead of vega-tooltip) ------------------------------------
  const tip = $("gj-tip");
  const tooltip = gjTooltip(tip);

  // ---- curves: int16 arrays, base64 ----------------------------------------------------------
  const C = D.curves;
  const Q = {};
  function dec(b64) {
    const s = atob(b64), u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return new Int16Array(u.buffer);
  }
  if (C) for (const k of ["train_loss", "test_loss", "train_acc", "test_acc"]) Q[k] = dec(C[k]);
  // Losses below the current rule's floor are drawn at it (as grokjax.phases compares them);
  // float32 epsilon where the rule has none: a log axis cannot show 0.
  const lossFloor = () => (rule.params.floor > 0 ? rule.params.floor : 1.1920929e-7);
  function curveRows(i, phase, label) {
    const out = [];
    if (!C) return out;
    const steps = C.steps[C.step_of[i]], W = C.width;
    for (const split of ["train", "test"]) {
      const lq = Q[split + "_loss"], aq = Q[split + "_acc"];
      for (let j = 0; j < steps.length; j++) {
        const a = lq[i * W + j], b = aq[i * W + j];
        out.push({
          i, phase, label, split, step: steps[j],
          loss: a === C.missing ? null : Math.max(Math.pow(10, a / C.loss_q), lossFloor()),
          acc: b === C.missing ? null : b / C.acc_q,
        });
      }
    }
    return out;
  }

  // ---- the classification rules (must agree with grokjax.phases) -----------------------------
  const prec = (t) => (D.f32 ? Math.fround(t) : t);  // thresholds at the curves' precision
  function classify(r, rule) {
    if (r.diverged) return "diverged";
    const p = rule.params;
    if (rule.name === "loss") {
      // Written as grokjax.phases.LossRule: NaN fails the "<=" tests.
      if (!(num(r.min_train_loss) <= prec(p.min_train))) return "fail";
      if (!(num(r.min_test_loss) <= prec(p.min_test))) return "memorize";
      if (num(r.max_loss_ratio) < p.ratio) return "generalize";
      return "grok";
    }
    // grokjax.phases.AccuracyRule on first-reach steps precomputed in Python.
    const A = D.acc, k = A.grid.indexOf(p.threshold);
    const tr = num(A.train[k][r.i]), te = num(A.test[k][r.i]);
    if (Number.isNaN(tr)) return "fail";
    if (Number.isNaN(te)) return "memorize";
    return te - tr < p.delay ? "generalize" : "grok";
  }

  // ---- how sure each cell is: grokjax.report.cell_shares, live --------------------------------
  // Wilson 95% interval of k of n, the expression of grokjax.stats.intervals.wilson.
  const Z95 = 1.959963984540054;
  function wilson(k, n, z = Z95) {
    if (n <= 0) return [0, 1];
    const p = k / n;
    const centre = (p + z * z / (2 * n)) / (1 + z * z / n);
    const half = z / (1 + z * z / n) * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
  }
  const pct100 = (x) => Math.floor(100 * x + 0.5);
  function shareText(k, n) {  // grokjax.stats.text.share_text
    if (n === 0) return "0/0";
    const [lo, hi] = wilson(k, n);
    return `${k}/${n} = ${pct100(k / n)}% [${pct100(lo)}, ${pct100(hi)}]`;
  }
  function cellFields(phases) {  // grokjax.report.cell_shares.cell_fields
    const n = phases.length, c = {};
    for (const p of phases) c[p] = (c[p] || 0) + 1;
    const top = Math.max(...Object.values(c));
    const modal = PH.filter((p) => c[p] === top);
    const [lo, hi] = wilson(top, n);
    return {
      cell_n: n,
      cell_share: modal.join(" / ") + (modal.length > 1 ? " (tie)" : "") + " " +
        shareText(top, n),
      cell_phases: PH.filter((p) => c[p]).map((p) => `${p} ${shareText(c[p], n)}`).join("; "),
      cell_fill: modal.length === 1 ? D.colors[modal[0]] : D.cell_style.tie_color,
      cell_alpha: modal.length === 1
        ? D.cell_style.alpha_min + D.cell_style.alpha_span * (1 - (hi - lo)) : 1,
    };
  }
  function addCellFields(rows) {
    const byKey = new Map();
    for (const r of rows) {
      if (!byKey.has(r.key)) byKey.set(r.key, []);
      byKey.get(r.key).push(r);
    }
    for (const runs of byKey.values()) {
      const f = cellFields(runs.map((r) => r.phase));
      for (const r of runs) Object.assign(r, f);
    }
  }

  // ---- state ---------------------------------------------------------------------------------
  const runsData = D.specs.main.data.find((d) => d.name === "runs");
  const base = runsData.values.map(copy);
  const label = (r) => {
    const parts = [];
    for (const [role, f] of [["x", "cx"], ["y", "cy"], ["facet", "cf"]]) {
      if (D.axes[role]) parts.push(D.axes[role] + " " + r[f]);
    }
    if (r.within) parts.push(r.within);
    return parts.join(" · ") || r.run_id;
  };
  const stored = { name: D.rule.name, params: Object.assign({}, D.rule.params) };
  const rule = { name: stored.name, params: Object.assign({}, stored.params) };
  const saved = { loss: null, accuracy: null };  // last params of each rule while switched away
  let live = base.map(copy);
  let selected = D.default_cell;
  let views = {};

  function classifyAll() {
    live = base.map((r) => {
      const o = copy(r);
      o.phase = classify(r, rule);
      o.changed = o.phase !== r.stored;
      return o;
    });
    addCellFields(live);
  }

  // ---- views ---------------------------------------------------------------------------------
  async function makeView(spec, el, renderer) {
    const res = await vegaEmbed(el, spec, {
      mode: "vega", renderer: renderer || "svg", actions: false, hover: true, tooltip,
      logLevel: 1,  // errors only: empty curve views warn about empty extents
    });
    return res.view;
  }
  // New rows, then a fresh layout (axes and facets may change size).
  const replace = (view, name, rows) =>
    view.change(name, view.changeset().remove(() => true).insert(rows)).resize();

  async function pushRuns() {
    replace(views.main, "runs", live);
    await views.main.runAsync();
  }

  function counts() {
    const per = new Map(D.layout.facet_order.map((f) => [f, Object.fromEntries(PH.map((p) => [p, 0]))]));
    const tot = Object.fromEntries(PH.map((p) => [p, 0]));
    for (const r of live) {
      if (!per.has(r.cf)) per.set(r.cf, Object.fromEntries(PH.map((p) => [p, 0])));
      per.get(r.cf)[r.phase]++;
      tot[r.phase]++;
    }
    return { per, tot };
  }

  function renderCounts() {
    const { per, tot } = counts();
    const n = live.length, shown = PH.filter((p) => p !== "diverged" || tot.diverged > 0);
    $("gj-legend").innerHTML = shown.map((p) =>
      `<span class="chip"><i style="background:${D.colors[p]}"></i>${p} <b>${tot[p]}</b>` +
      `<small>${pct(tot[p], n)}</small></span>`).join("");
    const changed = live.filter((r) => r.changed).length;
    $("gj-changed").textContent = changed
      ? `${changed} of ${n} runs are classified differently from the stored phases (ringed dots).`
      : `All ${n} runs keep their stored phase.`;
    $("gj-changed").className = changed ? "changed on" : "changed";
    const fa = D.axes.facet;
    let h = `<thead><tr><th>${esc(fa || "")}</th>` +
      shown.map((p) => `<th><i style="background:${D.colors[p]}"></i>${p}</th>`).join("") +
      "<th>runs</th><th class=bar></th></tr></thead><tbody>";
    const rows = [...per.entries()];
    if (fa && rows.length > 1) rows.push(["all", tot]);
    for (const [f, c] of rows) {
      const t = PH.reduce((s, p) => s + c[p], 0);
      const bar = shown.map((p) => c[p] ? `<span style="width:${(100 * c[p]) / (t || 1)}%;` +
        `background:${D.colors[p]}" title="${p}: ${c[p]}"></span>` : "").join("");
      h += `<tr${f === "all" ? ' class="total"' : ""}><th>${esc(f === "all" ? "all runs" :
        (fa ? fa + " = " + f : f))}</th>` +
        shown.map((p) => `<td title="${p}: ${shareText(c[p], t)} (share, 95% interval)">` +
          `${c[p] || '<span class="zero">0</span>'}` +
          `${c[p] ? `<small>${pct(c[p], t)}</small>` : ""}</td>`).join("") +
        `<td>${t}</td><td class="bar"><div>${bar}</div></td></tr>`;
    }
    $("gj-counts").innerHTML = h + "</tbody>";
  }

  async function renderReps() {
    if (!views.reps) return;
    const taken = Object.fromEntries(PH.map((p) => [p, []]));
    for (const i of D.order) {
      const r = live[i];
      if (taken[r.phase].length < D.reps_k) taken[r.phase].push(i);
    }
    const rows = [];
    for (const p of PH) for (const i of taken[p]) rows.push(...curveRows(i, p, label(live[i])));
    replace(views.reps, "reps", rows);
    await views.reps.runAsync();
  }

  async function renderCell() {
    const runs = live.filter((r) => r.key === selected);
    if (!runs.length) { $("gj-cell-title").textContent = "Click a cell of the phase diagram."; return; }
    const r0 = runs[0], parts = [];
    for (const [role, f] of [["x", "cx"], ["y", "cy"], ["facet", "cf"]]) {
      if (D.axes[role]) parts.push(`<b>${esc(D.axes[role])}</b> = ${esc(r0[f])}`);
    }
    const c = {};
    for (const r of runs) c[r.phase] = (c[r.phase] || 0) + 1;
    $("gj-cell-title").innerHTML = (parts.join(", ") || "all runs") + ` — ${runs.length} run` +
      (runs.length === 1 ? "" : "s") + ": " + PH.filter((p) => c[p]).map((p) =>
        `<span class="chip sm"><i style="background:${D.colors[p]}"></i>${p} <b>${c[p]}</b></span>`)
        .join(" ");
    renderCellRuns(runs);
    if (!views.cell) return;
    const rows = [];
    for (const r of runs) rows.push(...curveRows(r.i, r.phase, label(r)));
    replace(views.cell, "cell", rows);
    await views.cell.runAsync();
  }

  // ---- links to the runs' explorer pages (explore/RUN_ID.html, written by grokjax) ----------
  const EXPLORE = new Set(D.explore || []);
  const explorerHref = (id) => (EXPLORE.has(id) ? `explore/${encodeURIComponent(id)}.html` : null);
  function renderCellRuns(runs) {
    let box = $("gj-cell-runs");
    const linked = runs.filter((r) => explorerHref(r.run_id));
    if (!linked.length) { if (box) box.innerHTML = ""; return; }
    if (!box) {
      box = document.createElement("p");
      box.id = "gj-cell-runs";
      $("gj-cell-title").after(box);
      const css = document.createElement("style");
      css.textContent = "#gj-cell-runs{font-size:12.5px;color:#5f6368;margin:2px 0 4px}" +
        "#gj-cell-runs a{display:inline-flex;align-items:center;gap:4px;margin:0 10px 0 4px;" +
        "color:#1a5fb4;text-decoration:none;white-space:nowrap}" +
        "#gj-cell-runs a:hover{text-decoration:underline}" +
        "#gj-cell-runs i{display:inline-block;width:9px;height:9px;border-radius:50%}";
      document.head.appendChild(css);
    }
    box.innerHTML = "Explore a run: " + linked.map((r) =>
      `<a href="${explorerHref(r.run_id)}" title="run ${esc(r.run_id)}: weights, Fourier ` +
      `analysis, curves"><i style="background:${D.colors[r.phase]}"></i>` +
      `${esc(r.within || r.run_id)}</a>`).join(" ");
  }

  async function select(key) {
    selected = key;
    views.main.signal("sel", key);
    await views.main.runAsync();
    await renderCell();
  }

  // ---- controls ------------------------------------------------------------------------------
  const R = D.ranges;
  const LOSS_CTRL = [
    ["min_train", "fail if min train loss &gt;", R.loss, true],
    ["min_test", "else memorize if min test loss &gt;", R.loss, true],
    ["ratio", "else generalize if max test/train loss &lt;", R.ratio, true],
  ];
  const ACC_CTRL = [
    ["threshold", "accuracy level reached", [0, D.acc.grid.length - 1], false],
    ["delay", "else generalize if test follows within (steps)", R.delay, true],
  ];

  function ruleText() {
    const p = rule.params;
    if (rule.name === "loss") {
      return `<b>fail</b> if min train loss &gt; ${fmt(p.min_train)}; else <b>memorize</b> if ` +
        `min test loss &gt; ${fmt(p.min_test)}; else <b>generalize</b> if the largest test/train ` +
        `loss ratio &lt; ${fmt(p.ratio)}; else <b>grok</b>. <b>diverged</b> (a NaN/inf loss) ` +
        `overrides all. Losses were floored at ${fmt(p.floor)} before these numbers were taken.`;
    }
    return `Steps at which train and test accuracy first reach ${p.threshold}: <b>fail</b> if ` +
      `train never does; else <b>memorize</b> if test never does; else <b>generalize</b> if ` +
      `test gets there less than ${fmt(p.delay)} steps after train; else <b>grok</b>. ` +
      `<b>diverged</b> overrides all.`;
  }

  let pending = false;
  function schedule() {
    $("gj-rule-text").innerHTML = ruleText();
    if (pending) return;
    pending = true;
    requestAnimationFrame(async () => {
      pending = false;
      await update();
    });
  }

  async function update() {
    classifyAll();
    renderCounts();
    await pushRuns();
    await renderCell();
    await renderReps();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  function buildControls() {
    const box = $("gj-sliders");
    const ctrls = rule.name === "loss" ? LOSS_CTRL : ACC_CTRL;
    box.innerHTML = "";
    for (const [key, text, range, log] of ctrls) {
      const id = "gj-" + key;
      const div = document.createElement("div");
      div.className = "ctrl";
      const val = rule.params[key];
      const pos = log ? Math.log10(val) : D.acc.grid.indexOf(val);
      div.innerHTML = `<label for="${id}">${text}</label>` +
        `<input type="range" id="${id}" min="${range[0]}" max="${range[1]}" ` +
        `step="${log ? 0.05 : 1}" value="${pos}">` +
        `<input type="text" class="val" id="${id}-val" value="${fmt(val)}" ` +
        `${log ? "" : "readonly"} spellcheck="false">`;
      box.appendChild(div);
      const slider = div.querySelector("input[type=range]"), txt = div.querySelector(".val");
      slider.addEventListener("input", () => {
        const v = Number(slider.value);
        rule.params[key] = log ? Number(Math.pow(10, v).toPrecision(3)) : D.acc.grid[v];
        txt.value = fmt(rule.params[key]);
        schedule();
      });
      if (log) {
        txt.addEventListener("change", () => {
          const v = Number(txt.value);
          if (!(v > 0) || !Number.isFinite(v)) { txt.value = fmt(rule.params[key]); return; }
          rule.params[key] = v;
          slider.value = String(Math.log10(v));
          schedule();
        });
      }
    }
  }

  function initControls() {
    for (const inp of document.querySelectorAll("input[name=gj-rule]")) {
      inp.checked = inp.value === rule.name;
      inp.addEventListener("change", () => {
        if (!inp.checked || inp.value === rule.name) return;
        saved[rule.name] = Object.assign({}, rule.params);
        rule.name = inp.value;
        rule.params = saved[rule.name] || (rule.name === stored.name
          ? Object.assign({}, stored.params) : Object.assign({}, D.rule_defaults[rule.name]));
        buildControls();
        schedule();
      });
    }
    $("gj-reset").addEventListener("click", () => {
      rule.name = stored.name;
      rule.params = Object.assign({}, stored.params);
      saved.loss = saved.accuracy = null;
      for (const inp of document.querySelectorAll("input[name=gj-rule]")) {
        inp.checked = inp.value === rule.name;
      }
      buildControls();
      schedule();
    });
    buildControls();
    $("gj-rule-text").innerHTML = ruleText();
  }

  // ---- start ---------------------------------------------------------------------------------
  async function main() {
    const t0 = performance.now();
    views.main = await makeView(D.specs.main, "#gj-main", D.renderer);
    views.main.addEventListener("click", (event, item) => {
      const d = item && item.datum;
      if (d && typeof d.key === "string") select(d.key);
    });
    views.main.addEventListener("dblclick", (event, item) => {
      const href = item && item.datum && explorerHref(item.datum.run_id);
      if (href) window.location.href = href;  // a dot: open its run's explorer page
    });
    if (C) {
      views.cell = await makeView(D.specs.cell, "#gj-cell");
      views.reps = await makeView(D.specs.reps, "#gj-reps");
    }
    initControls();
    await update();
    if (selected) await select(selected);
    window.grokjax = { D, views, live: () => live, rule, classify, select, update, explorerHref,
      wilson, cellFields };
    document.body.dataset.ready = "1";
    document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  }
  main().catch((e) => {
    console.error(e);
    $("gj-error").textContent = "The page failed to draw: " + e;
  });
})();
