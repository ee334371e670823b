// The console's Offers & scripts tab, beyond the two forms lead.js handles: the offers listed,
// the scripts listed with their version, each script opened to edit (a save is its next
// version, checked by the server against a sample contact) and any earlier version read back.
"use strict";
(() => {
  const { t, h, $, api, all, showError } = OC;
  const box = () => $("#error");
  let open = null; // the script being edited: {id, name, version, body}

  async function load() {
    try {
      const [offers, scripts] = await Promise.all([all("/v1/offers"), all("/v1/scripts")]);
      $("#offer-rows").replaceChildren(...offers.map((o) => h("tr", { dataset: { offer: String(o.id) } },
        h("td", { text: o.code }), h("td", { text: o.name }), h("td", { class: "hide-narrow", text: o.description || "" }))));
      $("#script-rows").replaceChildren(...scripts.map((s) => h("tr", { dataset: { script: String(s.id) } },
        h("td", { text: s.name }), h("td", { class: "num", text: "v" + s.version }),
        h("td", { class: "muted small hide-narrow", text: s.body.length > 60 ? s.body.slice(0, 60) + "…" : s.body }),
        h("td", {}, h("button", { type: "button", class: "edit-script", text: t("catalog.edit"), onclick: () => edit(s) })))));
    } catch (e) { showError(box(), e); }
  }

  function edit(s) {
    open = { ...s };
    const f = $("#script-edit");
    f.hidden = false;
    $("#script-edit-title").textContent = t("catalog.editing", { name: s.name, version: s.version });
    f.name.value = s.name;
    f.body.value = s.body;
    OC.survey.renderEditor($("#script-questions"), s.questions || []);
    $("#script-versions").replaceChildren(...Array.from({ length: s.version }, (_, i) => s.version - i).map((v) =>
      h("option", { value: String(v), text: "v" + v + (v === s.version ? " · " + t("catalog.current") : "") })));
    $("#script-version-body").textContent = "";
    $("#script-preview-text").textContent = "";
    f.scrollIntoView({ block: "nearest" });
  }

  async function showVersion() {
    if (!open) return;
    const v = $("#script-versions").value;
    try {
      const r = await api("GET", `/v1/scripts/${open.id}/versions/${v}`);
      $("#script-version-body").textContent = r.body;
    } catch (e) { showError(box(), e); }
  }

  /** The body in the editor as an agent would read it: for the person with the phone typed, or
   *  the server's sample contact; nothing is saved. */
  async function preview() {
    const f = $("#script-edit");
    const out = $("#script-preview-text");
    out.textContent = "";
    try {
      let contact;
      const phone = $("#script-preview-phone").value.trim();
      if (phone) {
        const found = await api("GET", "/v1/contacts?phone=" + encodeURIComponent(phone));
        if (!found.items.length) { out.textContent = t("catalog.preview.nobody", { phone }); return; }
        contact = found.items[0].id;
      }
      const r = await api("POST", "/v1/scripts/preview", { body: f.body.value, contact });
      showError(box(), null, f);
      out.textContent = r.text;
    } catch (e) { showError(box(), e, f); }
  }

  async function save(ev) {
    ev.preventDefault();
    const f = ev.target;
    try {
      const r = await api("PUT", `/v1/scripts/${open.id}`, {
        body: f.body.value, name: f.name.value.trim() || undefined, questions: OC.survey.questionsOf($("#script-questions")),
      });
      showError(box(), null, f);
      OC.toast(t("catalog.saved_version", { version: r.version }));
      f.hidden = true;
      open = null;
      load();
    } catch (e) { showError(box(), e, f); }
  }

  function init() {
    $("#script-edit").addEventListener("submit", save);
    $("#script-edit-cancel").addEventListener("click", () => { $("#script-edit").hidden = true; open = null; });
    $("#script-versions").addEventListener("change", showVersion);
    $("#script-preview").addEventListener("click", preview);
    document.querySelector("[data-tab=catalog]").addEventListener("click", load);
    // The new script's questions, none until the lead adds one (survey.js runs after this file).
    const fresh = $("#new-script-questions");
    document.querySelector("[data-tab=catalog]").addEventListener("click", () => {
      if (!fresh.childElementCount) OC.survey.renderEditor(fresh, []);
    });
    OC.onLang(() => { if (fresh.childElementCount) OC.survey.renderEditor(fresh, OC.survey.questionsOf(fresh)); });
    // A new offer or script made by the forms above shows in the lists.
    for (const id of ["#offer-form", "#script-form"]) $(id).addEventListener("submit", () => setTimeout(load, 300));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
