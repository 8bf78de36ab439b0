// The page of `seq2seq serve`: lists the models, sends POST /translate, draws the results.
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];

function element(tag, attrs = {}, text = null) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== null) el.textContent = text;
  return el;
}

// A SentencePiece piece as shown: the word-start mark becomes a visible space.
const showPiece = (p) => p.replace(/\u2581/g, "\u00b7");

// The attention map: source pieces across, target pieces down, darker = more weight
// (the cell's title holds the weight itself).
function heatmap(att) {
  // Shades relative to the largest weight, so a diffuse map is still readable.
  const peak = Math.max(1e-6, ...att.weights.flat());
  const table = element("table", { class: "heatmap" });
  const head = element("thead");
  const top = element("tr");
  top.append(element("th"));
  for (const piece of att.source) top.append(element("th", { scope: "col" }, showPiece(piece)));
  head.append(top);
  table.append(head);
  const body = element("tbody");
  att.target.forEach((piece, t) => {
    const row = element("tr");
    row.append(element("th", { scope: "row" }, showPiece(piece)));
    for (const w of att.weights[t]) {
      const cell = element("td", { title: w.toFixed(2) });
      cell.style.background = `rgba(20, 70, 160, ${(w / peak).toFixed(3)})`;
      row.append(cell);
    }
    body.append(row);
  });
  table.append(body);
  return table;
}

function showResult(source, tr) {
  const box = element("div", { class: "result" });
  box.append(element("div", { class: "source" }, source));
  box.append(element("div", { class: "translation" }, tr.text));
  box.append(element("div", { class: "score" }, `score ${tr.score.toFixed(3)}`));
  if (tr.nbest) {
    const list = element("ol", { class: "nbest" });
    for (const h of tr.nbest) list.append(element("li", {}, `${h.text}  (${h.score.toFixed(3)})`));
    box.append(list);
  }
  if (tr.attention) {
    const map = element("div", { class: "map" });
    map.append(heatmap(tr.attention));
    box.append(map);
  }
  return box;
}

async function loadModels() {
  const response = await fetch("/models");
  models = await response.json();
  const select = $("model");
  for (const m of models) {
    select.append(element("option", { value: m.name }, `${m.name} (${m.from} → ${m.to})`));
  }
  select.addEventListener("change", modelChosen);
  modelChosen();
}

// A model trained with domain tags offers its domains, its default first chosen.
function modelChosen() {
  const model = models.find((m) => m.name === $("model").value);
  if (!model) return;
  $("beam").value = model.beam;
  const domains = model.domains || [];
  $("domain").replaceChildren(...domains.map((d) => element("option", { value: d }, d)));
  if (model.default_domain) $("domain").value = model.default_domain;
  $("domain-label").hidden = domains.length === 0;
}

async function translate(event) {
  event.preventDefault();
  $("error").textContent = "";
  const texts = $("source").value.split("\n").map((t) => t.trim()).filter((t) => t);
  if (!texts.length) return;
  const model = models.find((m) => m.name === $("model").value);
  const beam = Number($("beam").value);
  const body = {
    texts,
    model: model.name,
    beam,
    nbest: $("nbest").checked ? Math.min(5, beam) : 1,
    attention: model.attention,
  };
  if ((model.domains || []).length) body.domain = $("domain").value;
  $("status").textContent = "translating…";
  $("translate").disabled = true;
  try {
    const response = await fetch("/translate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    const output = $("output");
    output.replaceChildren(...answer.translations.map((tr, i) => showResult(texts[i], tr)));
    $("status").textContent = `${answer.took_ms} ms`;
  } catch (e) {
    $("error").textContent = e.message;
    $("status").textContent = "";
  } finally {
    $("translate").disabled = false;
  }
}

$("form").addEventListener("submit", translate);
loadModels().catch((e) => { $("error").textContent = `could not list the models: ${e.message}`; });
