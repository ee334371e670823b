// Campaign console, a campaign's lists (under the import form): each upload or segment added
// with its name, source and report, a switch that stops and resumes handing its contacts out,
// and "remove untouched contacts" (confirmed) to undo a bad import.
"use strict";
(() => {
  const { t, h, $, api, all, showError, toast } = OC;
  const errorBox = () => $("#error");
  let shown = []; // the lists on screen, for a language switch
  let loading = 0; // answers of an older request are dropped

  function campaign() {
    return $("#import-campaign").value;
  }

  async function load() {
    const id = campaign();
    const mine = ++loading;
    if (!id) { shown = []; render(); return; }
    try {
      const lists = await all(`/v1/campaigns/${encodeURIComponent(id)}/lists`);
      if (mine !== loading) return;
      shown = lists;
    } catch (e) {
      showError(errorBox(), e);
      shown = [];
    }
    render();
  }

  function report(r) {
    if (!r) return t("lists.report.pending");
    return t("lists.report", {
      accepted: OC.num(r.accepted), duplicates: OC.num(r.duplicates),
      suppressed: OC.num(r.suppressed), invalid: OC.num(r.invalid_count),
    });
  }

  function render() {
    $("#lists-empty").hidden = shown.length > 0;
    $("#lists-table").hidden = shown.length === 0;
    $("#list-rows").replaceChildren(...shown.map((l) => {
      const toggle = h("input", {
        type: "checkbox", role: "switch", "aria-label": t("lists.switch", { name: l.name }),
        onchange: (ev) => setActive(l, ev.target),
      });
      toggle.checked = l.active;
      return h("tr", { dataset: { list: l.id } },
        h("td", { text: l.name }),
        h("td", { text: t("lists.source." + l.source) }),
        h("td", { class: "hide-narrow", text: OC.fmtTime(new Date(l.created_at), OC.browserZone) }),
        h("td", { class: "small", text: report(l.report) }),
        h("td", {}, h("label", { class: "row" }, toggle,
          h("span", { text: t(l.active ? "lists.on" : "lists.off") }))),
        h("td", {}, h("button", { type: "button", text: t("lists.remove"), onclick: () => removeUntouched(l) })));
    }));
  }

  async function setActive(list, box) {
    showError(errorBox(), null);
    try {
      const now = await api("PATCH", `/v1/lists/${list.id}`, { active: box.checked });
      Object.assign(list, { active: now.active });
      toast(t(now.active ? "lists.switched.on" : "lists.switched.off", { name: list.name }));
    } catch (e) {
      box.checked = list.active;
      showError(errorBox(), e);
    }
    render();
  }

  async function removeUntouched(list) {
    if (!window.confirm(t("lists.remove.confirm", { name: list.name }))) return;
    showError(errorBox(), null);
    try {
      const r = await api("DELETE", `/v1/lists/${list.id}`);
      toast(t("lists.removed", { n: OC.num(r.removed), name: list.name }));
    } catch (e) {
      showError(errorBox(), e);
    }
    load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#import-campaign").addEventListener("change", load);
    // The campaigns are (re)loaded into the import form's select whenever its tab opens.
    new MutationObserver(load).observe($("#import-campaign"), { childList: true });
    document.addEventListener("oc:imported", load);
    OC.onLang(render);
  });
})();
