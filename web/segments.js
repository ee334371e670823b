// The console's Segments tab: a builder for the segments API's filters (attributes with typed
// comparisons, call history, conversions, campaign membership; each condition may be negated),
// a live count (a debounced preview as the conditions change), saving a segment, and adding a
// segment's people (or the builder's) to a campaign as a named list.
"use strict";
(() => {
  const { t, h, $, $$, api, all, showError } = OC;
  const box = () => $("#error");
  const KINDS = ["attribute", "called_within", "last_disposition", "converted", "in_campaign"];
  const OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "exists"];
  const DISPOSITIONS = ["accepted", "declined", "callback", "no_answer", "busy", "voicemail", "wrong_number", "do_not_call", "complaint"];
  let campaigns = [];
  let timer = null;
  let asked = 0; // the latest preview asked for: an older answer arriving late is dropped

  function input(name, attrs = {}) {
    return h("input", { name, "aria-label": t("sg.f." + name), placeholder: t("sg.f." + name), size: 12, ...attrs });
  }

  function select(name, values, label) {
    return h("select", { name, "aria-label": t("sg.f." + name) },
      ...values.map((v) => h("option", { value: v, text: label(v) })));
  }

  /** The inputs of one condition of `kind`. */
  function fields(kind) {
    switch (kind) {
      case "attribute": return [input("key"), select("op", OPS, (o) => t("sg.op." + o)), input("value")];
      case "called_within": return [input("days", { type: "number", min: 1, value: 30, size: 5 })];
      case "last_disposition": return [select("disposition", DISPOSITIONS, (d) => t("d." + d)), input("days", { type: "number", min: 1, size: 5 })];
      case "converted": return [input("offer"), input("days", { type: "number", min: 1, size: 5 })];
      default: return [select("campaign", campaigns.map((c) => String(c.id)), (id) => {
        const c = campaigns.find((x) => String(x.id) === id);
        return `#${id} ${c ? c.name : ""}`;
      })];
    }
  }

  function addRule(kind = "attribute") {
    const kindSel = select("kind", KINDS, (k) => t("sg.kind." + k));
    kindSel.value = kind;
    const inputs = h("span", { class: "row sg-fields" }, ...fields(kind));
    const rule = h("div", { class: "row sg-rule" },
      h("label", {}, h("input", { type: "checkbox", name: "not" }), " ", t("sg.not")),
      kindSel, inputs,
      h("button", { type: "button", class: "remove", text: t("sg.remove"), onclick: () => { rule.remove(); changed(); } }));
    kindSel.addEventListener("change", () => { inputs.replaceChildren(...fields(kindSel.value)); changed(); });
    $("#sg-rules").append(rule);
    changed();
  }

  const days = (v) => (v && Number(v) > 0 ? `${Math.round(Number(v))}d` : null);

  /** One condition as the API's filter, or null while it is incomplete. */
  function ruleFilter(rule) {
    const f = (n) => { const el = rule.querySelector(`[name=${n}]`); return el ? el.value.trim() : ""; };
    let filter = null;
    switch (rule.querySelector("[name=kind]").value) {
      case "attribute": {
        if (!f("key")) return null;
        const op = f("op");
        filter = { attribute: f("key"), op };
        if (op === "in") filter.value = f("value").split(/[,，]/).map((v) => v.trim()).filter(Boolean);
        else if (op !== "exists") filter.value = f("value");
        if (op !== "exists" && !f("value")) return null;
        break;
      }
      case "called_within": if (!days(f("days"))) return null; filter = { called_within: days(f("days")) }; break;
      case "last_disposition": filter = { last_disposition: [f("disposition")] }; if (days(f("days"))) filter.within = days(f("days")); break;
      case "converted": if (!f("offer")) return null; filter = { converted: f("offer") }; if (days(f("days"))) filter.within = days(f("days")); break;
      default: if (!f("campaign")) return null; filter = { in_campaign: Number(f("campaign")) };
    }
    return rule.querySelector("[name=not]").checked ? { not: filter } : filter;
  }

  function currentFilter() {
    const parts = $$(".sg-rule").map(ruleFilter);
    if (!parts.length || parts.some((p) => p === null)) return null;
    return { [$("#sg-join").value]: parts };
  }

  /** A condition changed: count again once the typing stops. */
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  }

  async function preview() {
    const filter = currentFilter();
    const n = ++asked;
    if (!filter) { $("#sg-count").textContent = "—"; $("#sg-sample").textContent = ""; return; }
    try {
      const r = await api("POST", "/v1/segments/preview", { filter });
      if (n !== asked) return;
      showError(box(), null);
      $("#sg-count").textContent = OC.num ? OC.num(r.count) : String(r.count);
      $("#sg-count").dataset.count = String(r.count);
      const names = r.sample.slice(0, 5).map((c) => c.name || c.phone);
      $("#sg-sample").textContent = names.length ? t("sg.sample", { names: names.join("、") }) : "";
    } catch (e) { if (n === asked) showError(box(), e); }
  }

  async function loadSegments() {
    try {
      campaigns = (await all("/v1/campaigns")).filter((c) => c.status !== "completed");
      $("#sg-campaign").replaceChildren(...campaigns.map((c) => h("option", { value: c.id, text: `#${c.id} ${c.name}` })));
      const segments = await all("/v1/segments");
      $("#sg-rows").replaceChildren(...segments.map((s) => h("tr", { dataset: { segment: String(s.id) } },
        h("td", { text: s.name }), h("td", { class: "hide-narrow", text: s.created_by }),
        h("td", {}, h("button", { type: "button", class: "add-to-campaign", text: t("sg.add_to"), onclick: () => addTo({ segment: s.id }) })))));
      if (!$$(".sg-rule").length) addRule();
    } catch (e) { showError(box(), e); }
  }

  async function addTo(source) {
    const campaign = $("#sg-campaign").value;
    if (!campaign) return;
    const listName = $("#sg-list-name").value.trim();
    const body = { ...source, ...(listName ? { list_name: listName } : {}) };
    try {
      const r = await api("POST", `/v1/campaigns/${campaign}/contacts/from-segment`, body);
      showError(box(), null);
      $("#sg-report").textContent = r.state === "queued" || (r.id && !("accepted" in r))
        ? t("sg.queued")
        : t("sg.report", { accepted: r.accepted, duplicates: r.duplicates, suppressed: r.suppressed });
    } catch (e) { showError(box(), e); }
  }

  async function save(ev) {
    ev.preventDefault();
    const filter = currentFilter();
    if (!filter) { showError(box(), new OC.ApiError(422, { detail: t("sg.incomplete") })); return; }
    try {
      await api("POST", "/v1/segments", { name: $("#sg-name").value.trim(), filter });
      showError(box(), null, ev.target);
      OC.toast(t("saved"));
      $("#sg-name").value = "";
      await loadSegments();
    } catch (e) { showError(box(), e, ev.target); }
  }

  function init() {
    $("#sg-add").addEventListener("click", () => addRule());
    $("#sg-rules").addEventListener("input", changed);
    $("#sg-rules").addEventListener("change", changed);
    $("#sg-join").addEventListener("change", changed);
    $("#sg-builder").addEventListener("submit", save);
    $("#sg-add-filter").addEventListener("click", () => {
      const filter = currentFilter();
      if (filter) addTo({ filter });
    });
    document.querySelector("[data-tab=segments]").addEventListener("click", loadSegments);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
