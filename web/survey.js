// Surveys (issue 28), on both pages. On the agent desk: the questions of the call's script
// version as a form (radio buttons, check boxes, a number, a text), required ones marked,
// read into the outcome's `answers`; the server's errors land next to each question
// (`data-field="answers.<key>"`). On the console: a list editor of a script's questions in the
// script editor, and the answers of the campaign open in the insight panel, per option.
"use strict";
(() => {
  const { t, h, $, api, showError } = OC;

  // ---- the desk: a call's questions as a form ----

  /** Shows `questions` in `box` (empty: hides `card`). */
  function renderForm(box, card, questions) {
    card.hidden = !questions.length;
    box.replaceChildren(...questions.map((q, i) => {
      const name = `survey-${i}`;
      const legend = h("legend", {}, q.label, q.required
        ? h("span", { class: "required-mark", title: t("survey.required"), "aria-label": t("survey.required"), text: " *" }) : null);
      let input;
      if (q.type === "choice" || q.type === "multi") {
        const kind = q.type === "choice" ? "radio" : "checkbox";
        input = h("div", { class: "survey-options", dataset: { field: "answers." + q.key } },
          ...q.options.map((o) => h("label", { class: "survey-option" },
            h("input", { type: kind, name, value: o, required: q.required && kind === "radio" }), " ", o)));
      } else if (q.type === "number") {
        input = h("input", { type: "number", step: "any", name, "aria-label": q.label, dataset: { field: "answers." + q.key } });
      } else {
        input = h("input", { type: "text", maxlength: "1000", name, "aria-label": q.label, dataset: { field: "answers." + q.key } });
      }
      return h("fieldset", { class: "survey-question", dataset: { key: q.key, type: q.type } }, legend, input);
    }));
  }

  /** The answers given in `box`, as the outcome takes them (unanswered questions left out). */
  function answersOf(box) {
    const out = {};
    for (const fs of box.querySelectorAll("fieldset.survey-question")) {
      const { key, type } = fs.dataset;
      if (type === "choice") {
        const on = fs.querySelector("input:checked");
        if (on) out[key] = on.value;
      } else if (type === "multi") {
        const on = [...fs.querySelectorAll("input:checked")].map((x) => x.value);
        if (on.length) out[key] = on;
      } else {
        const v = fs.querySelector("input").value.trim();
        if (v === "") continue;
        out[key] = type === "number" ? Number(v) : v;
      }
    }
    return out;
  }

  // ---- the console: a script's questions, edited as a list ----

  const TYPES = ["choice", "multi", "number", "text"];

  function editorRow(list, q, i) {
    const at = `questions[${i}]`;
    const row = h("div", { class: "question-row row", dataset: { index: String(i) } },
      h("label", {}, h("span", { text: t("survey.f.key") }),
        h("input", { name: "q-key", value: q.key || "", dataset: { field: at + ".key" }, placeholder: "plan" })),
      h("label", {}, h("span", { text: t("survey.f.label") }),
        h("input", { name: "q-label", value: q.label || "", dataset: { field: at + ".label" } })),
      h("label", {}, h("span", { text: t("survey.f.type") }),
        h("select", { name: "q-type", dataset: { field: at + ".type" } }, ...TYPES.map((ty) =>
          h("option", { value: ty, selected: (q.type || "choice") === ty, text: t("survey.type." + ty) })))),
      h("label", {}, h("span", { text: t("survey.f.options") }),
        h("input", { name: "q-options", value: (q.options || []).join(", "), dataset: { field: at + ".options" },
          placeholder: t("survey.f.options.hint") })),
      h("label", {}, h("input", { type: "checkbox", name: "q-required", checked: !!q.required }), " ", t("survey.f.required")),
      h("button", { type: "button", class: "remove-question", text: t("survey.remove"),
        onclick: () => { const qs = questionsOf(list); qs.splice(i, 1); renderEditor(list, qs); } }));
    return row;
  }

  /** Shows `questions` in the list editor `list`, with an Add button. */
  function renderEditor(list, questions) {
    list.replaceChildren(
      h("h4", { text: t("survey.questions") }),
      ...questions.map((q, i) => editorRow(list, q, i)),
      h("button", { type: "button", class: "add-question", text: t("survey.add"),
        onclick: () => renderEditor(list, [...questionsOf(list), { type: "choice" }]) }));
  }

  /** The questions as edited, in the form `POST /v1/scripts` takes. */
  function questionsOf(list) {
    return [...list.querySelectorAll(".question-row")].map((row) => {
      const v = (n) => row.querySelector(`[name=${n}]`);
      const type = v("q-type").value;
      const q = { key: v("q-key").value.trim(), label: v("q-label").value.trim(), type, required: v("q-required").checked };
      const options = v("q-options").value.split(/[,，;；\n]/).map((o) => o.trim()).filter(Boolean);
      if (type === "choice" || type === "multi" || options.length) q.options = options;
      return q;
    });
  }

  // ---- the console: the answers of the campaign in the insight panel ----

  async function loadAnswers(panel) {
    const box = $("#survey-answers");
    if (!box || panel.hidden || !panel.dataset.campaign) return;
    const campaign = panel.dataset.campaign;
    try {
      const r = await api("GET", `/v1/stats/answers?campaign=${encodeURIComponent(campaign)}`);
      if (panel.dataset.campaign !== campaign) return;
      box.replaceChildren(...renderAnswers(r.questions));
    } catch (e) { showError($("#error"), e); }
  }

  // A bar of `share` (0..1) of the cell; its width set through the style object, which the
  // pages' content security policy allows where a style attribute is not.
  function bar(share) {
    const el = h("span", { class: "answer-bar" });
    el.style.width = (100 * share).toFixed(1) + "%";
    return el;
  }

  function renderAnswers(questions) {
    if (!questions.length) return [h("p", { class: "muted", text: t("survey.none") })];
    return questions.map((q) => {
      const head = h("div", { class: "toolbar spread" }, h("b", { text: q.label }),
        h("span", { class: "muted small", text: t("survey.answered", { n: q.count }) }));
      let body = null;
      if (q.options) {
        const most = Math.max(1, ...q.options.map((o) => o.count));
        body = h("table", { class: "answer-chart" }, ...q.options.map((o) => h("tr", { dataset: { option: o.option } },
          h("td", { text: o.option }),
          h("td", { class: "answer-bar-cell" }, bar(o.count / most)),
          h("td", { class: "num", text: String(o.count) }))));
      } else if (q.type === "number") {
        const n = (x) => (x === null || x === undefined ? "—" : OC.num(Math.round(x * 100) / 100));
        body = h("p", { class: "small", text: t("survey.number", { mean: n(q.mean), min: n(q.min), max: n(q.max) }) });
      }
      return h("div", { class: "survey-result", dataset: { key: q.key } }, head, body);
    });
  }

  function initConsole() {
    const panel = $("#insight");
    if (panel && $("#survey-answers")) {
      const watch = new MutationObserver(() => loadAnswers(panel));
      watch.observe(panel, { attributes: true, attributeFilter: ["data-campaign", "hidden"] });
      OC.onLang(() => loadAnswers(panel));
    }
  }

  OC.survey = { renderForm, answersOf, renderEditor, questionsOf };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initConsole); else initConsole();
})();
