// grokjax run explorer: one run's curves and its weights at every saved snapshot.
// Data: the JSON in #gx-data (Vega specs compiled by grokjax, curves, base64 float32 weights).
// Needs only the global `vegaEmbed` (inlined above, with Vega); makes no network request.
(() => {
  "use strict";
  const D = JSON.parse(document.getElementById("gx-data").textContent);
  const $ = (id) => document.getElementById(id);
  const esc = gjEsc;
  const PALETTE = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b",
    "#b279a2", "#ff9da6", "#9d755d", "#79706e"];
  const OTHER = "#c7c7c7";

  // ---- tooltips (a small handler instead of vega-tooltip) ------------------------------------
  const tip = $("gx-tip");
  const tooltip = gjTooltip(tip);

  // ---- snapshots: base64 float32 arrays, decoded once ------------------------------------------
  function f32(b64) {
    if (!b64) return null;
    const s = atob(b64), u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return new Float32Array(u.buffer);
  }
  // M: token tables (modular), P: parity input weights, G: every parameter (no views).
  const M = D.mod, P = D.par, PR = D.pairs, G = D.gen, SN = (M || P || G).snaps;
  const ARRAYS = ["wa", "wb", "wo", "ca", "cb", "co", "win", "wout",
    ...(G ? G.leaves.map((l) => l.key) : [])];
  const decoded = new Map();
  function snap(i) {
    if (!decoded.has(i)) {
      const s = Object.assign({}, SN[i]);
      for (const k of ARRAYS) if (k in s) s[k] = f32(s[k]);
      decoded.set(i, s);
    }
    return decoded.get(i);
  }
  const maxAbs = (a) => { let m = 0; for (const v of a) m = Math.max(m, Math.abs(v)); return m; };
  const globalMax = {};
  function scaleOf(key, i) {
    if (state.scale === "all") {
      if (!(key in globalMax)) {
        globalMax[key] = Math.max(...SN.map((_, j) => maxAbs(snap(j)[key] || [0])));
      }
      return globalMax[key] || 1;
    }
    return maxAbs(snap(i)[key]) || 1;
  }

  const state = {
    i: SN.length - 1,
    order: M && M.dft ? "freq" : "index",
    scale: "snap",
    a: M ? Math.floor(M.p / 3) : 0,
    b: M ? Math.floor((2 * M.p) / 3) : 0,
    xaxis: "phase",
    play: null,
  };

  // ---- views ---------------------------------------------------------------------------------
  const views = {};
  async function makeView(spec, el, renderer) {
    const res = await vegaEmbed(el, spec, {
      mode: "vega", renderer: renderer || "svg", actions: false, hover: true, tooltip,
      logLevel: 1,
    });
    return res.view;
  }
  // New rows, then a fresh layout (facets and axes may change size).
  const put = (view, name, rows) =>
    view.change(name, view.changeset().remove(() => true).insert(rows)).resize();

  // ---- curves ----------------------------------------------------------------------------------
  const C = D.curves;
  function curveRows() {
    const out = [];
    C.step.forEach((step, j) => {
      for (const split of ["train", "test"]) {
        const l = C[split + "_loss"], a = C[split + "_acc"];
        out.push({ step, split, loss: l ? l[j] : null, acc: a ? a[j] : null });
      }
    });
    return out;
  }
  function progressRows() {
    const out = [];
    let mi = 0;
    for (const [key, label] of Object.entries(D.labels)) {
      if (!C[key]) continue;
      const series = key === "relevant_norm"
        ? [["relevant bits", C.relevant_norm], ["distracting bits", C.distracting_norm]]
        : [["value", C[key]]];
      for (const [name, vals] of series) {
        if (!vals) continue;
        C.step.forEach((step, j) => out.push({ m: label, mi, step, v: vals[j], series: name }));
      }
      mi++;
    }
    return out;
  }

  // ---- neurons: order and frequency groups (modular) -------------------------------------------
  const H = M ? M.H : P ? P.H : 0;
  const columns = (n) => Array.from({ length: n }, (_, c) => c);
  function neuronOrder(s) {
    if (M && M.dft && state.order === "freq") return s.order;
    return Array.from({ length: H }, (_, h) => h);
  }
  const keyIndex = (f) => (M ? M.key.indexOf(f) : -1);
  const groupColor = (f) => (keyIndex(f) >= 0 ? PALETTE[keyIndex(f) % PALETTE.length] : OTHER);

  function heatRows(arr, R, Cn, pos) {
    const out = new Array(R * Cn);
    let n = 0;
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < Cn; c++) {
        out[n++] = { x: pos[c], y: r, v: arr[r * Cn + c], neuron: c };
      }
    }
    return out;
  }
  function neuronRows(s, ord) {
    const rows = ord.map((h, x) => {
      const f = s.freq ? s.freq[h] : 0;
      const prev = x > 0 ? (s.freq ? s.freq[ord[x - 1]] : -1) : -1;
      return {
        x, neuron: h, freq: f, key: keyIndex(f) >= 0, color: groupColor(f),
        first: state.order === "freq" && f !== prev, label: "k" + f, span: 1,
      };
    });
    let start = 0;  // the width (in neurons) of each run of one frequency, on its first row
    rows.forEach((r, x) => {
      if (r.first) start = x;
      else if (x > 0) rows[start].span++;
    });
    return rows;
  }
  async function drawHeat(view, arr, R, Cn, key, s, ord) {
    if (!view) return;
    const pos = new Array(ord.length);
    ord.forEach((h, x) => { pos[h] = x; });
    put(view, "cells", heatRows(arr, R, Cn, pos));
    if (M && M.dft) put(view, "neurons", neuronRows(s, ord));
    view.signal("m", scaleOf(key, state.i)).signal("ord", ord.slice());
    if (M) view.signal("keys", M.key);
    await view.runAsync();
  }

  // ---- modular: stars, frequency norms, logits ------------------------------------------------
  const SIDES = ["input side (F·W_input)", "output side (F·W_outputᵀ)"];
  function starRows(s) {
    const out = [];
    for (const k of M.key) {
      const members = [];
      for (let h = 0; h < H; h++) if (s.freq[h] === k) members.push(h);
      const f = `k = ${k}`;
      const note = `${members.length} neuron${members.length === 1 ? "" : "s"}`;
      [s.ca, s.co].forEach((coef, si) => {
        let m = 0;
        const pool = members.length ? members : Array.from({ length: H }, (_, h) => h);
        for (const h of pool) {
          m = Math.max(m, Math.abs(coef[(2 * k - 1) * H + h]), Math.abs(coef[2 * k * H + h]));
        }
        m = (m || 1) * 1.08;
        out.push({ kind: "ext", f, fk: k, side: SIDES[si], cx: -m, cy: -m,
          note: si === 0 ? note : null });
        out.push({ kind: "ext", f, fk: k, side: SIDES[si], cx: m, cy: m });
        for (const h of members) {
          const ang = s.angle[h];
          out.push({
            kind: "pt", f, fk: k, side: SIDES[si], neuron: h,
            cx: coef[(2 * k - 1) * H + h], cy: coef[2 * k * H + h],
            hue: (ang + Math.PI) / (2 * Math.PI), deg: Math.round((ang * 180) / Math.PI),
          });
        }
      });
    }
    return out;
  }
  function fnormRows(s) {
    const out = [];
    for (let k = 0; k <= M.K; k++) {
      out.push({ k, side: "input", v: s.norm_in[k] });
      out.push({ k, side: "output", v: s.norm_out[k] });
    }
    return out;
  }

  const ACT = {
    relu: (x) => (x > 0 ? x : 0),
    square: (x) => x * x,
    gelu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
    tanh: Math.tanh,
    linear: (x) => x,
  };
  // The label of (a, b) and its split, from the task's own data (never recomputed here).
  const SPLIT = ["not in the task's data", "a training pair", "a test pair",
    "not in the data; the label of its mirror (b, a)"];
  function answer(a, b) {
    const L = M.labels;
    const y = L ? L.y[a * M.p + b] : -1;
    return y >= 0 ? y : null;
  }
  const splitOf = (a, b) => (M.labels ? SPLIT[M.labels.split[a * M.p + b]] : SPLIT[0]);
  // Per-group logit contributions of snapshot i for the pair (a, b): the activations of a
  // group's neurons times W_output (as grokjax.analysis.frequency_logits, grouped by key
  // frequency; the other neurons form one group).
  function logits(i, a, b) {
    const s = snap(i), p = M.p, act = ACT[M.act] || ACT.relu;
    const wb = s.wb || s.wa;
    const hact = new Float64Array(H);
    for (let h = 0; h < H; h++) hact[h] = act(s.wa[a * H + h] + wb[b * H + h]);
    const G = M.key.length;
    const grp = new Int32Array(H).map((_, h) => {
      const j = s.freq ? keyIndex(s.freq[h]) : -1;
      return j >= 0 ? j : G;
    });
    const groups = Array.from({ length: G + 1 }, () => new Float64Array(p));
    const total = new Float64Array(p);
    for (let c = 0; c < p; c++) {
      for (let h = 0; h < H; h++) {
        const v = hact[h] * s.wo[c * H + h];
        groups[grp[h]][c] += v;
        total[c] += v;
      }
    }
    const counts = new Array(G + 1).fill(0);
    for (let h = 0; h < H; h++) counts[grp[h]]++;
    return { groups, total, counts };
  }
  function cosFit(v, k, ans) {
    const p = v.length, cs = new Float64Array(p);
    let mc = 0, mv = 0;
    for (let c = 0; c < p; c++) {
      cs[c] = Math.cos((2 * Math.PI * k * (ans - c)) / p);
      mc += cs[c] / p;
      mv += v[c] / p;
    }
    let cov = 0, vr = 0;
    for (let c = 0; c < p; c++) { cov += (cs[c] - mc) * (v[c] - mv); vr += (cs[c] - mc) ** 2; }
    const beta = vr > 0 ? cov / vr : 0;
    return Array.from(cs, (x) => mv + beta * (x - mc));
  }
  function logitRows() {
    const { groups, total, counts } = logits(state.i, state.a, state.b);
    const label = answer(state.a, state.b), ans = label === null ? 0 : label, rows = [];
    const G = M.key.length;
    const p = M.p, phase = state.xaxis === "phase", half = (p - 1) / 2;
    const add = (g, gi, k, vals, ref, color, note) => {
      for (let c = 0; c < p; c++) {
        // phase: k (c - answer) mod p, centred so that the answer sits at 0
        const x = phase ? ((((k * (c - ans) + half) % p) + p) % p) - half : c;
        rows.push({ g, gi, c, x, v: vals[c], ref: ref ? ref[c] : null, ans, color,
          at: phase ? 0 : ans, note: c === 0 ? note : null });
      }
    };
    const nn = (n) => `${n} neuron${n === 1 ? "" : "s"}`;
    M.key.forEach((k, j) => {
      add(`k = ${k}`, j, k, groups[j], counts[j] ? cosFit(groups[j], k, ans) : null,
        PALETTE[j % PALETTE.length], nn(counts[j]));
    });
    add("other frequencies", G, 1, groups[G], null, "#999", nn(counts[G]));
    add("all neurons = model logits", G + 1, 1, total, null, "#222", nn(H));
    let best = 0;
    for (let c = 1; c < M.p; c++) if (total[c] > total[best]) best = c;
    const where = splitOf(state.a, state.b);
    $("gx-pred").innerHTML = label === null
      ? `(${state.a}, ${state.b}) is ${where}: no label; the model's top logit: <b>${best}</b>`
      : `(${state.a}, ${state.b}), ${where}: label <b>${label}</b>; the model's top ` +
        `logit: <b class="${best === label ? "ok" : "bad"}">${best}</b>` +
        (best === label ? " ✓" : " ✗");
    return rows;
  }

  // ---- parity: bit norms -----------------------------------------------------------------------
  const bitGroup = (d) => (d < P.k ? "relevant" : "distracting");
  function bitRows() {
    const out = [];
    SN.forEach((s, j) => s.bits.forEach((v, d) =>
      out.push({ step: D.steps[j], bit: d, label: "x" + d, group: bitGroup(d), v })));
    return out;
  }
  const bitNowRows = (s) => s.bits.map((v, d) => ({ bit: d, label: "x" + d,
    group: bitGroup(d), v }));

  // ---- pairs: attention over the grid, neuron frequencies -----------------------------------
  const attDecoded = new Map();
  function attOf(i) {
    if (!attDecoded.has(i)) attDecoded.set(i, f32(PR.snaps[i].att));
    return attDecoded.get(i);
  }
  function attRows(arr) {
    const p = PR.p, n = PR.heads * p, out = new Array(p * n);
    let j = 0;
    for (let a = 0; a < p; a++) {
      for (let c = 0; c < n; c++) {
        out[j++] = { x: c, y: a, v: arr[a * n + c], neuron: "head " + Math.floor(c / p) };
      }
    }
    return out;
  }
  function nfreqRows(i) {
    const s = PR.snaps[i], counts = new Map();
    s.nfreq.forEach((k, m) => {
      const clean = s.nshare[m] >= PR.clean ? "explained" : "mixed";
      const key = k + "|" + clean;
      counts.set(key, (counts.get(key) || 0) + 1);
    });
    return Array.from(counts, ([key, n]) => {
      const [k, clean] = key.split("|");
      return { k: Number(k), clean, n };
    });
  }
  async function drawPairs() {
    if (views.att) {
      put(views.att, "cells", attRows(attOf(state.i)));
      views.att.signal("m", 1).signal("ord", Array.from({ length: PR.heads * PR.p },
        (_, c) => c % PR.p));
      await views.att.runAsync();
    }
    if (views.nfreq) { put(views.nfreq, "nfreq", nfreqRows(state.i)); await views.nfreq.runAsync(); }
  }

  // ---- updates -------------------------------------------------------------------------------
  async function drawWeights() {
    const s = snap(state.i), ord = neuronOrder(s);
    if (M) {
      const p = M.p;
      await drawHeat(views.wa, s.wa, p, H, "wa", s, ord);
      await drawHeat(views.wb, s.wb, p, H, "wb", s, ord);
      await drawHeat(views.wo, s.wo, p, H, "wo", s, ord);
      if (M.dft) {
        await drawHeat(views.ca, s.ca, p, H, "ca", s, ord);
        await drawHeat(views.cb, s.cb, p, H, "cb", s, ord);
        await drawHeat(views.co, s.co, p, H, "co", s, ord);
      }
    } else if (P) {
      await drawHeat(views.win, s.win, P.n + 1, H, "win", s, ord);
      await drawHeat(views.wout, s.wout, 1, H, "wout", s, ord);
    } else if (G) {
      for (const l of G.leaves) {
        await drawHeat(views[l.key], s[l.key], l.rows, l.cols, l.key, s, columns(l.cols));
      }
    }
  }
  async function drawLogits() {
    if (!views.logits) return;
    $("gx-a").value = $("gx-a-val").value = String(state.a);
    $("gx-b").value = $("gx-b-val").value = String(state.b);
    put(views.logits, "logits", logitRows());
    await views.logits.resize().runAsync();
  }
  async function drawStep() {
    const s = snap(state.i), step = D.steps[state.i];
    $("gx-step-label").textContent = `step ${step.toLocaleString("en-US")}  ` +
      `(${state.i + 1} of ${SN.length})`;
    for (const v of [views.curves, views.progress, views.bits]) if (v) v.signal("cur", step);
    await drawWeights();
    if (views.star) { put(views.star, "star", starRows(s)); await views.star.resize().runAsync(); }
    if (views.fnorm) { put(views.fnorm, "fnorm", fnormRows(s)); await views.fnorm.runAsync(); }
    if (views.bits) { put(views.bits, "bitnow", bitNowRows(s)); await views.bits.runAsync(); }
    for (const v of [views.curves, views.progress]) if (v) await v.runAsync();
    await drawPairs();
    await drawLogits();
    document.body.dataset.step = String(step);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  let busy = Promise.resolve();
  const queue = (fn) => { busy = busy.then(fn).catch((e) => { console.error(e); }); return busy; };
  async function setStep(i) {
    state.i = Math.max(0, Math.min(SN.length - 1, i));
    $("gx-step").value = String(state.i);
    await queue(drawStep);
  }
  async function setPair(a, b) {
    const p = M.p, ok = (v) => Number.isInteger(v) && v >= 0 && v < p;
    if (ok(a)) state.a = a;
    if (ok(b)) state.b = b;
    await queue(async () => {
      await drawLogits();
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    });
  }

  function initControls() {
    $("gx-step").addEventListener("input", () => setStep(Number($("gx-step").value)));
    $("gx-play").addEventListener("click", () => {
      if (state.play) {
        clearInterval(state.play);
        state.play = null;
        $("gx-play").textContent = "▶ play";
        return;
      }
      if (state.i >= SN.length - 1) setStep(0);
      $("gx-play").textContent = "❚❚ pause";
      state.play = setInterval(() => {
        if (state.i >= SN.length - 1) { $("gx-play").click(); return; }
        setStep(state.i + 1);
      }, 800);
    });
    $("gx-play").disabled = SN.length < 2;
    $("gx-scale").addEventListener("change", () => {
      state.scale = $("gx-scale").value;
      queue(drawStep);
    });
    if ($("gx-order")) {
      $("gx-order").addEventListener("change", () => {
        state.order = $("gx-order").value;
        queue(drawStep);
      });
    }
    if ($("gx-a")) {
      for (const w of ["a", "b"]) {
        for (const id of [`gx-${w}`, `gx-${w}-val`]) {
          $(id).addEventListener(id.endsWith("val") ? "change" : "input", () => {
            const v = Number($(id).value);
            if (w === "a") setPair(v, state.b); else setPair(state.a, v);
          });
        }
      }
      $("gx-xaxis").addEventListener("change", () => {
        state.xaxis = $("gx-xaxis").value;
        setPair(state.a, state.b);
      });
      $("gx-rand").addEventListener("click", () =>
        setPair(Math.floor(Math.random() * M.p), Math.floor(Math.random() * M.p)));
    }
  }

  // ---- start ---------------------------------------------------------------------------------
  async function main() {
    const t0 = performance.now();
    const S = D.specs;
    if (C.step.length) {
      views.curves = await makeView(S.curves, "#gx-curves");
      put(views.curves, "curves", curveRows());
      if (S.progress) {
        views.progress = await makeView(S.progress, "#gx-progress");
        put(views.progress, "prog", progressRows());
      }
    }
    if (M) {
      views.wa = await makeView(S.w, "#gx-wa", "canvas");
      if (M.two) views.wb = await makeView(S.w, "#gx-wb", "canvas");
      views.wo = await makeView(S.w, "#gx-wo", "canvas");
      if (M.dft) {
        views.ca = await makeView(S.c, "#gx-ca", "canvas");
        if (M.two) views.cb = await makeView(S.c, "#gx-cb", "canvas");
        views.co = await makeView(S.c, "#gx-co", "canvas");
        views.fnorm = await makeView(S.fnorm, "#gx-fnorm");
        views.fnorm.signal("keys", M.key);
        views.star = await makeView(S.star, "#gx-star");
        if (M.waves) views.logits = await makeView(S.logits, "#gx-logits");
      }
    } else if (P) {
      views.win = await makeView(S.w, "#gx-win", "canvas");
      views.wout = await makeView(S.wout, "#gx-wout", "canvas");
      views.bits = await makeView(S.bits, "#gx-bits");
      put(views.bits, "bits", bitRows());
    } else if (G) {
      for (const l of G.leaves) views[l.key] = await makeView(S[l.key], "#gx-" + l.key, "canvas");
    }
    if (S.att) views.att = await makeView(S.att, "#gx-att", "canvas");
    if (S.nfreq) views.nfreq = await makeView(S.nfreq, "#gx-nfreq");
    initControls();
    await setStep(state.i);
    window.grokjax = { D, views, state, snap, setStep, setPair, logits, answer };
    document.body.dataset.ready = "1";
    document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  }
  main().catch((e) => {
    console.error(e);
    $("gx-error").textContent = "The page failed to draw: " + e;
  });
})();
