// The page of `seq2seq serve`: languages from GET /languages, the source language of "auto"
// from POST /detect, translations from POST /translate (our protocol: n-best lists, scores,
// attention). The state (source, target, text) lives in the URL, so a translation can be shared.
"use strict";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 500;
const state = {
  languages: [], // [{code, name, targets}]
  models: [], // GET /models
  names: {}, // code -> name
  limit: 2000,
  detected: null, // the language "auto" found last
  model: null, // the model of the chosen direction (its beam and domains are in "More")
  translation: "", // the last translation shown
  controller: null, // the request in flight (aborted when a newer one starts)
  timer: null,
};

function element(tag, attrs = {}, text = null) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== null) el.textContent = text;
  return el;
}

const option = (value, text) => element("option", { value }, text);
const nameOf = (code) => state.names[code] || code;

async function getJSON(url, options = {}) {
  const response = await fetch(url, options);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

const postJSON = (url, body, signal) =>
  getJSON(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });

// --- languages and directions ---

function targetsOf(src) {
  if (src === "auto") return [...new Set(state.languages.flatMap((l) => l.targets))];
  return (state.languages.find((l) => l.code === src) || { targets: [] }).targets;
}

const modelFor = (src, tgt) => state.models.find((m) => m.from === src && m.to === tgt);
const reverseExists = (src, tgt) => src !== "auto" && targetsOf(tgt).includes(src);

function fillTargets(wanted) {
  const targets = targetsOf($("src").value);
  const keep = wanted && targets.includes(wanted) ? wanted : $("tgt").value;
  $("tgt").replaceChildren(...targets.map((c) => option(c, nameOf(c))));
  if (targets.includes(keep)) $("tgt").value = keep;
}

// The chosen direction's model: its beam and domains in "More", its swap button.
function directionChanged() {
  const src = $("src").value === "auto" ? state.detected : $("src").value;
  $("swap").disabled = !reverseExists($("src").value, $("tgt").value);
  const model = modelFor(src, $("tgt").value);
  if (!model || model === state.model) return; // the settings are the user's until it changes
  state.model = model;
  $("beam").value = model.beam;
  const domains = model.domains || [];
  $("domain").replaceChildren(...domains.map((d) => option(d, d)));
  if (model.default_domain) $("domain").value = model.default_domain;
  $("domain-label").hidden = domains.length === 0;
}

function swap() {
  const src = $("src").value;
  const tgt = $("tgt").value;
  if (!reverseExists(src, tgt)) return;
  $("src").value = tgt;
  fillTargets(src);
  if (state.translation) $("source").value = state.translation;
  changed(true);
}

// --- the text ---

function updateCount() {
  $("count").textContent = `${$("source").value.length} / ${state.limit}`;
}

function saveURL() {
  const params = new URLSearchParams({
    source: $("src").value,
    target: $("tgt").value,
    q: $("source").value,
  });
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function changed(now = false) {
  updateCount();
  directionChanged();
  saveURL();
  clearTimeout(state.timer);
  if (now) translate();
  else state.timer = setTimeout(translate, DEBOUNCE_MS);
}

// --- translating ---

// A SentencePiece piece as shown: the word-start mark becomes a visible space.
const showPiece = (p) => p.replace(/\u2581/g, "\u00b7");

// The attention map: source pieces across, target pieces down, darker = more weight
// (the cell's title holds the weight itself).
function heatmap(att) {
  const peak = Math.max(1e-6, ...att.weights.flat());
  const table = element("table", { class: "heatmap" });
  table.append(element("caption", { class: "visually-hidden" }, "Attention weights"));
  const head = element("thead");
  const top = element("tr");
  top.append(element("td"));
  for (const piece of att.source) top.append(element("th", { scope: "col" }, showPiece(piece)));
  head.append(top);
  table.append(head);
  const body = element("tbody");
  att.target.forEach((piece, t) => {
    const row = element("tr");
    row.append(element("th", { scope: "row" }, showPiece(piece)));
    for (const w of att.weights[t]) {
      const cell = element("td", { title: w.toFixed(2) });
      cell.style.background = `rgba(var(--heat), ${(w / peak).toFixed(3)})`;
      row.append(cell);
    }
    body.append(row);
  });
  table.append(body);
  return table;
}

function showDetails(tr) {
  const parts = [element("p", { class: "score" }, `score ${tr.score.toFixed(3)}`)];
  if (tr.nbest) {
    const list = element("ol", { class: "nbest" });
    for (const h of tr.nbest) list.append(element("li", {}, `${h.text}  (${h.score.toFixed(3)})`));
    parts.push(list);
  }
  if (tr.attention) {
    const map = element("div", { class: "map", tabindex: "0", "aria-label": "Attention map" });
    map.append(heatmap(tr.attention));
    parts.push(map);
  }
  $("details").replaceChildren(...parts);
}

function show(text, model = "") {
  state.translation = text;
  $("output").textContent = text;
  $("model-name").textContent = model ? `model: ${model}` : "";
}

async function translate() {
  clearTimeout(state.timer);
  if (state.controller) state.controller.abort();
  const text = $("source").value;
  $("error").textContent = "";
  if (!text.trim()) {
    show("");
    $("detected").textContent = "";
    $("details").replaceChildren();
    $("status").textContent = "";
    return;
  }
  const controller = new AbortController();
  state.controller = controller;
  $("status").textContent = "translating…";
  try {
    let src = $("src").value;
    if (src === "auto") {
      const [found] = await postJSON("/detect", { q: text }, controller.signal);
      src = found.language;
      state.detected = src;
      $("detected").textContent = `Detected: ${nameOf(src)}`;
      directionChanged();
    } else {
      $("detected").textContent = "";
    }
    const tgt = $("tgt").value;
    if (src === tgt) {
      show(text);
      $("status").textContent = "";
      return;
    }
    const model = modelFor(src, tgt);
    if (!model) throw new Error(`No model here translates ${nameOf(src)} into ${nameOf(tgt)}.`);
    const more = $("more").open;
    const beam = Number($("beam").value);
    const body = {
      texts: [text],
      from: src,
      to: tgt,
      beam,
      nbest: more && $("nbest").checked ? Math.min(5, beam) : 1,
      attention: more && $("attention").checked && model.attention,
    };
    if ((model.domains || []).length) body.domain = $("domain").value;
    const answer = await postJSON("/translate", body, controller.signal);
    if (controller !== state.controller) return; // a newer request has started
    const tr = answer.translations[0];
    show(tr.text, answer.model);
    showDetails(tr);
    $("status").textContent = `${answer.took_ms} ms`;
  } catch (e) {
    if (e.name === "AbortError") return;
    $("error").textContent = e.message;
    $("status").textContent = "";
  }
}

async function copy() {
  const text = state.translation;
  if (!text) return;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without clipboard permission (plain http on another host): copy from a selection.
    const area = element("textarea", { "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("status").textContent = "Copied";
}

async function init() {
  const [languages, models, settings] = await Promise.all([
    getJSON("/languages"),
    getJSON("/models"),
    getJSON("/frontend/settings"),
  ]);
  Object.assign(state, { languages, models, limit: settings.charLimit });
  for (const l of languages) state.names[l.code] = l.name;
  const sources = languages.filter((l) => l.targets.length);
  $("src").replaceChildren(
    option("auto", "Detect language"),
    ...sources.map((l) => option(l.code, l.name)),
  );
  $("source").maxLength = state.limit;
  const params = new URLSearchParams(location.search);
  const wanted = params.get("source");
  $("src").value = sources.some((l) => l.code === wanted) ? wanted : "auto";
  fillTargets(params.get("target") || "en");
  if (params.has("q")) $("source").value = params.get("q").slice(0, state.limit);
  updateCount();
  directionChanged();
  if ($("source").value.trim()) translate();
}

$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  changed(true);
});
$("source").addEventListener("input", () => changed());
$("source").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    changed(true);
  }
});
$("src").addEventListener("change", () => {
  fillTargets();
  changed(true);
});
$("tgt").addEventListener("change", () => changed(true));
$("swap").addEventListener("click", swap);
$("copy").addEventListener("click", copy);
for (const id of ["beam", "nbest", "attention", "domain"]) {
  $(id).addEventListener("change", () => changed(true));
}
$("more").addEventListener("toggle", () => {
  if ($("more").open && $("source").value.trim()) translate();
});
init().catch((e) => {
  $("error").textContent = `Could not load the languages: ${e.message}`;
});
