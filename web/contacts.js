// The console's Contacts tab: find a person by the start of their name, their phone (any form)
// or a CRM's id; edit their name, time zone, external id and attributes (audited by the
// server); and download a campaign's people, its outcomes or the do-not-call list as CSV, in
// UTF-8 or in GB18030 for Excel on Chinese Windows.
"use strict";
(() => {
  const { t, h, $, api, all, showError, toast } = OC;
  const box = () => $("#error");
  let query = null; // the search shown: { by, q, next }
  let editing = null; // the person in the edit form

  /** `key = value` lines, one attribute each. */
  function attributesText(attrs) {
    return Object.entries(attrs || {}).map(([k, v]) => `${k} = ${v}`).join("\n");
  }

  function parseAttributes(text) {
    const out = {};
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const at = line.indexOf("=");
      const key = (at < 0 ? line : line.slice(0, at)).trim();
      out[key] = at < 0 ? "" : line.slice(at + 1).trim();
    }
    return out;
  }

  function row(c) {
    return h("tr", { dataset: { contact: String(c.id) } },
      h("td", { text: c.name || "—" }), h("td", { text: c.phone }),
      h("td", { class: "hide-narrow", text: c.external_id || "" }),
      h("td", { class: "hide-narrow", text: c.timezone || "" }),
      h("td", {}, h("button", { type: "button", class: "edit", text: t("ct.edit"), onclick: () => edit(c) })));
  }

  async function search(more) {
    const params = new URLSearchParams({ [query.by]: query.q, limit: "50" });
    if (more && query.next) params.set("after", query.next);
    try {
      const page = await api("GET", "/v1/contacts?" + params);
      showError(box(), null, $("#ct-search"));
      query.next = page.next;
      const rows = page.items.map(row);
      if (more) $("#ct-rows").append(...rows); else $("#ct-rows").replaceChildren(...rows);
      $("#ct-none").hidden = $("#ct-rows").children.length > 0;
      $("#ct-more").hidden = !page.next;
    } catch (e) {
      // The problem names the field the search was by; the one input shows it.
      if (e.fields.length) e.problem.errors = e.fields.map((f) => ({ ...f, field: "name" }));
      showError(box(), e, $("#ct-search"));
    }
  }

  function edit(c) {
    editing = c;
    const form = $("#ct-edit");
    form.hidden = false;
    $("#ct-edit-title").textContent = t("ct.edit.title", { phone: c.phone });
    form.elements.name.value = c.name || "";
    form.elements.timezone.value = c.timezone || "";
    form.elements.external_id.value = c.external_id || "";
    form.elements.attributes.value = attributesText(c.attributes);
    showError(box(), null, form);
    form.elements.name.focus();
  }

  async function save(ev) {
    ev.preventDefault();
    const form = ev.target;
    const now = parseAttributes(form.elements.attributes.value);
    // Keys taken out of the text are removed: the server merges attributes key by key.
    const attributes = { ...now };
    for (const k of Object.keys(editing.attributes || {})) if (!(k in now)) attributes[k] = null;
    const body = {
      name: form.elements.name.value.trim() || null,
      timezone: form.elements.timezone.value.trim() || null,
      external_id: form.elements.external_id.value.trim() || null,
      attributes,
    };
    try {
      const c = await api("PATCH", `/v1/contacts/${editing.id}`, body);
      showError(box(), null, form);
      toast(t("saved"));
      editing = c;
      const old = $(`#ct-rows tr[data-contact="${c.id}"]`);
      if (old) old.replaceWith(row(c));
      form.hidden = true;
    } catch (e) { showError(box(), e, form); }
  }

  // A download needs the token in a header, which a link cannot send: fetch it, then save it.
  async function download(path, filename) {
    const charset = $("#ct-charset").value;
    const sep = path.includes("?") ? "&" : "?";
    try {
      const res = await fetch(path + sep + "charset=" + charset,
        { headers: { Authorization: "Bearer " + sessionStorage.getItem("outcall.token.lead") } });
      if (!res.ok) throw new OC.ApiError(res.status, await res.json().catch(() => ({})));
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: filename.replace(".csv", charset === "gb18030" ? "-gb18030.csv" : ".csv") });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { showError(box(), e); }
  }

  async function loadCampaigns() {
    try {
      const campaigns = await all("/v1/campaigns");
      const sel = $("#ct-export-campaign");
      const keep = sel.value;
      sel.replaceChildren(...campaigns.map((c) => h("option", { value: c.id, text: `#${c.id} ${c.name}` })));
      if (keep) sel.value = keep;
    } catch (e) { showError(box(), e); }
  }

  function init() {
    $("#ct-search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = $("#ct-q").value.trim();
      if (!q) return;
      query = { by: $("#ct-by").value, q, next: null };
      search(false);
    });
    $("#ct-more").addEventListener("click", () => search(true));
    $("#ct-edit").addEventListener("submit", save);
    $("#ct-cancel").addEventListener("click", () => { $("#ct-edit").hidden = true; });
    const campaign = () => $("#ct-export-campaign").value;
    $("#ct-export-contacts").addEventListener("click", () => campaign() &&
      download(`/v1/campaigns/${campaign()}/contacts.csv`, `campaign-${campaign()}-contacts.csv`));
    $("#ct-export-outcomes").addEventListener("click", () => campaign() &&
      download(`/v1/campaigns/${campaign()}/outcomes.csv`, `campaign-${campaign()}-outcomes.csv`));
    $("#ct-export-dnc").addEventListener("click", () => download("/v1/dnc.csv", "dnc.csv"));
    document.querySelector("[data-tab=contacts]").addEventListener("click", loadCampaigns);
    OC.onLang(() => { if (editing && !$("#ct-edit").hidden) $("#ct-edit-title").textContent = t("ct.edit.title", { phone: editing.phone }); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
