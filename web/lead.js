// Campaign console: campaigns and their lifecycle, contact imports with progress and report,
// the do-not-call list, targets, follow-ups, offers and scripts. The insight panel and the
// "why not called?" look-up are in insight.js.
"use strict";
(() => {
  const { t, h, $, $$, api, all, showError, toast } = OC;
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

  let campaigns = [];
  let editing = null; // campaign being edited, or null for a new one
  const errorBox = () => $("#error");

  // ---- tabs ----
  function showTab(name) {
    $$("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    $$("[role=tabpanel]").forEach((p) => { p.hidden = p.id !== "tab-" + name; });
    showError(errorBox(), null);
    ({ campaigns: loadCampaigns, import: loadCampaigns, targets: loadTargets, followups: loadFollowUps, dnc: () => loadDnc(false) }[name] || (() => {}))();
  }

  // ---- campaigns ----
  async function loadCampaigns() {
    try {
      campaigns = await all("/v1/campaigns");
    } catch (e) { showError(errorBox(), e); return; }
    renderCampaigns();
    const sel = $("#import-campaign");
    const keep = sel.value;
    sel.replaceChildren(...campaigns.filter((c) => c.status !== "completed")
      .map((c) => h("option", { value: c.id, text: `#${c.id} ${c.name}` })));
    if (keep) sel.value = keep;
  }

  function schedule(c) {
    const parts = [];
    if (c.start_at) parts.push("▶ " + OC.fmtTime(new Date(c.start_at), c.timezone));
    if (c.end_at) parts.push("■ " + OC.fmtTime(new Date(c.end_at), c.timezone));
    if (c.recurrence) parts.push("↻ " + c.recurrence + (c.next_recurrence_at ? " → " + OC.fmtTime(new Date(c.next_recurrence_at), c.timezone) : ""));
    return parts.join(" · ");
  }

  function renderCampaigns() {
    $("#campaign-rows").replaceChildren(...campaigns.map((c) => h("tr", { dataset: { campaign: c.id } },
      h("td", { text: c.id }),
      h("td", {}, c.name, " ", OC.insight.warningMark(c)),
      h("td", {}, h("span", { class: "badge " + c.status, dataset: { status: c.status }, text: t("status." + c.status) })),
      h("td", { class: "num hide-narrow", text: c.priority }),
      h("td", { class: "hide-narrow", text: c.offer }),
      h("td", { class: "small hide-narrow", text: schedule(c) }),
      h("td", {},
        ...(c.actions || []).map((a) => h("button", { type: "button", class: a === "stop" ? "danger" : "", dataset: { action: a }, onclick: () => act(c, a) }, t("lead." + a))),
        c.status !== "completed" ? h("button", { type: "button", dataset: { action: "edit" }, onclick: () => edit(c) }, t("lead.edit")) : null,
        h("button", { type: "button", dataset: { action: "insight" }, onclick: () => OC.insight.open(c) }, t("lead.insight"))))));
  }

  async function act(c, action) {
    if (action === "stop" && !window.confirm(t("lead.confirm.stop"))) return;
    try {
      await api("POST", `/v1/campaigns/${c.id}/${action}`);
      await loadCampaigns();
    } catch (e) { showError(errorBox(), e); }
  }

  async function loadChoices() {
    const [offers, scripts] = await Promise.all([all("/v1/offers"), all("/v1/scripts")]);
    $("[name=offer]").replaceChildren(...offers.map((o) => h("option", { value: o.code, text: `${o.code} — ${o.name}` })));
    $("[name=script_id]").replaceChildren(...scripts.map((s) => h("option", { value: s.id, text: `#${s.id} ${s.name} (v${s.version})` })));
  }

  function windowRow(w) {
    const row = h("div", { class: "window", dataset: { end24: String(w.end === "24:00") } },
      h("span", { class: "days" }, ...DAYS.map((d) => h("label", {},
        h("input", { type: "checkbox", value: d, checked: w.days.includes(d) }), " ", t("day." + d)))),
      h("input", { type: "time", class: "w-start", value: w.start, "aria-label": "start" }), "–",
      h("input", { type: "time", class: "w-end", value: w.end === "24:00" ? "23:59" : w.end, "aria-label": "end" }),
      h("button", { type: "button", class: "danger", onclick: () => row.remove() }, t("lead.f.window.remove")));
    return row;
  }

  function readWindows() {
    return $$("#windows .window").map((row) => ({
      days: $$("input[type=checkbox]", row).filter((c) => c.checked).map((c) => c.value),
      start: $(".w-start", row).value,
      // A time input cannot show 24:00; an untouched end of day stays 24:00.
      end: $(".w-end", row).value === "23:59" && row.dataset.end24 === "true" ? "24:00" : $(".w-end", row).value,
    }));
  }

  async function edit(c) {
    editing = c || null;
    const form = $("#campaign-form");
    showError(errorBox(), null, form);
    try { await loadChoices(); } catch (e) { showError(errorBox(), e); return; }
    const v = c || {
      name: "", priority: 50, share: 1, timezone: "Asia/Shanghai", max_attempts: 3, lease: "15m", teams: [],
      calling_windows: [{ days: DAYS.slice(0, 5), start: "09:00", end: "12:00" }, { days: DAYS.slice(0, 5), start: "14:00", end: "20:00" }],
      retry: { no_answer: "2h", busy: "15m", voicemail: "4h" }, owner_first: false,
    };
    form.name.value = v.name;
    if (c) { form.offer.value = c.offer; form.script_id.value = c.script_id; }
    form.priority.value = v.priority;
    form.share.value = v.share ?? 1;
    form.timezone.value = v.timezone;
    form.max_attempts.value = v.max_attempts;
    form.lease.value = v.lease;
    form.teams.value = (v.teams || []).join(", ");
    form.attribute_labels.value = Object.entries(v.attribute_labels || {}).map(([k, l]) => `${k} = ${l}`).join("\n");
    form.retry_no_answer.value = v.retry.no_answer;
    form.retry_busy.value = v.retry.busy;
    form.retry_voicemail.value = v.retry.voicemail;
    form.start_at.value = v.start_at ? OC.localInputValue(new Date(v.start_at), v.timezone) : "";
    form.end_at.value = v.end_at ? OC.localInputValue(new Date(v.end_at), v.timezone) : "";
    form.recurrence.value = v.recurrence || "";
    form.owner_first.checked = !!v.owner_first;
    $("#windows").replaceChildren(...v.calling_windows.map(windowRow));
    $("#campaign-form-title").textContent = c ? `${t("lead.edit")} #${c.id}` : t("lead.new");
    $("#campaign-save").textContent = c ? t("lead.form.save") : t("lead.form.create");
    form.hidden = false;
    preview();
    form.name.focus();
  }

  function readCampaign() {
    const f = $("#campaign-form");
    const zone = f.timezone.value.trim();
    const at = (v) => {
      if (!v) return null;
      const d = OC.zonedToInstant(v, zone);
      return d ? OC.rfc3339In(d, zone) : v;
    };
    return {
      name: f.name.value,
      offer: f.offer.value,
      script_id: Number(f.script_id.value),
      priority: Number(f.priority.value),
      share: Number(f.share.value),
      timezone: zone,
      calling_windows: readWindows(),
      start_at: at(f.start_at.value),
      end_at: at(f.end_at.value),
      recurrence: f.recurrence.value.trim() || null,
      max_attempts: Number(f.max_attempts.value),
      retry: { no_answer: f.retry_no_answer.value, busy: f.retry_busy.value, voicemail: f.retry_voicemail.value },
      lease: f.lease.value,
      teams: f.teams.value.split(",").map((s) => s.trim()).filter(Boolean),
      owner_first: f.owner_first.checked,
      attribute_labels: readLabels(f.attribute_labels.value),
    };
  }

  /** Attribute labels typed one a line, `key = label`; a line without `=` is left out. */
  function readLabels(text) {
    const labels = {};
    for (const line of text.split("\n")) {
      const at = line.indexOf("=");
      if (at < 0) continue;
      const key = line.slice(0, at).trim();
      if (key) labels[key] = line.slice(at + 1).trim();
    }
    return labels;
  }

  async function saveCampaign(ev) {
    ev.preventDefault();
    const form = $("#campaign-form");
    const body = readCampaign();
    try {
      if (editing) await api("PATCH", `/v1/campaigns/${editing.id}`, body);
      else {
        for (const k of ["start_at", "end_at", "recurrence"]) if (body[k] === null) delete body[k];
        await api("POST", "/v1/campaigns", body);
      }
      showError(errorBox(), null, form);
      form.hidden = true;
      toast(t("saved"));
      await loadCampaigns();
    } catch (e) { showError(errorBox(), e, form); }
  }

  let previewTimer = null;
  function preview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(async () => {
      const f = $("#campaign-form");
      const rec = f.recurrence.value.trim();
      const box = $("#preview-box");
      if (!rec) { box.hidden = true; return; }
      const zone = f.timezone.value.trim();
      try {
        const p = await api("GET", `/v1/schedules/preview?recurrence=${encodeURIComponent(rec)}&timezone=${encodeURIComponent(zone)}&count=5`);
        $("#preview").replaceChildren(...p.next.map((d) => h("li", { text: OC.fmtTime(new Date(d), p.timezone) + " (" + p.timezone + ")" })));
      } catch (e) {
        $("#preview").replaceChildren(h("li", { class: "field-error", text: (e.fields[0] && OC.fieldText(e.fields[0])) || e.message }));
      }
      box.hidden = false;
    }, 300);
  }

  // ---- import ----
  function upload(path, file, onProgress, type = "text/csv") {
    // XMLHttpRequest, not fetch: it reports upload progress.
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("Authorization", "Bearer " + sessionStorage.getItem("outcall.token.lead"));
      xhr.setRequestHeader("Content-Type", type);
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { data = { detail: xhr.responseText }; }
        if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, data });
        else reject(new OC.ApiError(xhr.status, data));
      };
      xhr.onerror = () => reject(new OC.ApiError(0, { detail: t("error.network") }));
      xhr.send(file);
    });
  }

  // The upload is previewed first (its first megabyte): the columns with a picker each, the
  // first rows, the charset, and the attributes the campaign's script needs that no column has.
  let pending = null; // { file, campaign, sheet } previewed and waiting for "Import"
  const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  // A workbook is a zip read from its end: it is previewed whole, not by its first megabyte.
  const isXlsx = (file) => /\.xlsx$/i.test(file.name) || file.type === XLSX;
  const TARGETS = ["phone", "name", "timezone", "external_id", "priority"];

  async function previewCsv(ev) {
    ev.preventDefault();
    const file = $("#import-file").files[0];
    const campaign = $("#import-campaign").value;
    if (!file || !campaign) return;
    showError(errorBox(), null);
    $("#import-report").hidden = true;
    $("#import-progress").hidden = true;
    await showPreview(file, campaign, null);
  }

  async function showPreview(file, campaign, sheet) {
    const xlsx = isXlsx(file);
    const q = sheet ? `&sheet=${encodeURIComponent(sheet)}` : "";
    try {
      const p = await api("POST", `/v1/imports/preview?campaign=${encodeURIComponent(campaign)}${q}`,
        xlsx ? file : file.slice(0, 1 << 20), { headers: { "Content-Type": xlsx ? XLSX : "text/csv" } });
      pending = { file, campaign, sheet: p.sheet || null };
      renderPreview(p);
    } catch (e) {
      $("#import-preview").hidden = true;
      showError(errorBox(), e);
    }
  }

  function renderPreview(p) {
    const named = p.columns.filter((c) => c !== "");
    $("#preview-map").replaceChildren(...named.map((c) => {
      const sel = h("select", { dataset: { column: c }, "aria-label": c },
        ...TARGETS.map((v) => h("option", { value: v, text: t("lead.import.as." + v) })),
        h("option", { value: "attributes." + c, text: t("lead.import.as.attribute", { name: c }) }),
        h("option", { value: "", text: t("lead.import.as.skip") }));
      const now = p.mapping[c] ?? "";
      if (![...sel.options].some((o) => o.value === now)) sel.append(h("option", { value: now, text: now }));
      sel.value = now;
      return h("th", {}, sel);
    }));
    $("#preview-head").replaceChildren(...named.map((c) => h("th", { text: c })));
    $("#preview-rows").replaceChildren(...p.rows.map((r) => h("tr", {}, ...r.map((v) => h("td", { text: v })))));
    $("#preview-info").textContent = p.sheet
      ? t("lead.import.preview.sheet", { sheet: p.sheet, n: p.rows.length })
      : t("lead.import.preview", { charset: p.charset, n: p.rows.length });
    const sheets = p.sheets || [];
    $("#preview-sheet-label").hidden = sheets.length < 2;
    $("#preview-sheet").replaceChildren(...sheets.map((n) => h("option", { value: n, text: n })));
    if (p.sheet) $("#preview-sheet").value = p.sheet;
    const missing = $("#preview-missing");
    missing.hidden = p.missing_for_script.length === 0;
    missing.textContent = t("lead.import.missing", { names: p.missing_for_script.join(", ") });
    $("#import-preview").hidden = false;
  }

  function chosenMapping() {
    const mapping = {};
    $$("#preview-map select").forEach((s) => { mapping[s.dataset.column] = s.value || null; });
    return mapping;
  }

  async function importCsv() {
    if (!pending) return;
    const { file, campaign, sheet } = pending;
    const mapping = encodeURIComponent(JSON.stringify(chosenMapping()));
    // Unnamed, a list is called after its file (客户名单.csv), as the lead knows it.
    const listName = ($("#import-list-name").value.trim() || file.name || "").slice(0, 200);
    const named = listName ? `&list_name=${encodeURIComponent(listName)}` : "";
    const xlsx = isXlsx(file);
    const sheetQ = xlsx && sheet ? `&sheet=${encodeURIComponent(sheet)}` : "";
    $("#import-preview").hidden = true;
    const bar = $("#import-bar");
    const status = $("#import-status");
    $("#import-progress").hidden = false;
    $("#import-report").hidden = true;
    showError(errorBox(), null);
    // Rows are roughly lines; the bar uses that estimate until the server reports the total.
    // A workbook is compressed: about 12 bytes of it a row.
    const estimate = xlsx ? Math.max(1, file.size / 12)
      : Math.max(1, (await file.slice(0, 8 << 20).text()).split("\n").length * Math.max(1, file.size / (8 << 20)) - 1);
    try {
      const res = await upload(`/v1/campaigns/${campaign}/contacts?mapping=${mapping}${named}${sheetQ}`, file, (share) => {
        bar.value = share * 50;
        status.textContent = t("lead.import.uploading", { pct: Math.round(share * 100) });
      }, xlsx ? XLSX : "text/csv");
      let report = res.data;
      reportImport = res.status === 202 ? res.data.id : null;
      if (res.status === 202) {
        for (;;) {
          const job = await api("GET", `/v1/imports/${res.data.id}`);
          bar.value = 50 + Math.min(50, (job.processed / estimate) * 50);
          status.textContent = t("lead.import.processing", { n: OC.num(job.processed) });
          if (job.state === "done") { report = job.report; break; }
          if (job.state === "failed") {
            status.textContent = t("lead.import.failed", { why: job.error || "" });
            report = job.report;
            break;
          }
          await new Promise((r) => setTimeout(r, 700));
        }
      }
      bar.value = 100;
      if (report && report.total !== undefined) {
        status.textContent = t("lead.import.done");
        renderReport(report);
        document.dispatchEvent(new CustomEvent("oc:imported", { detail: { campaign } }));
      }
    } catch (e) {
      $("#import-progress").hidden = true;
      showError(errorBox(), e);
    }
  }

  function renderReport(r) {
    $("#r-total").textContent = OC.num(r.total);
    $("#r-accepted").textContent = OC.num(r.accepted);
    $("#r-duplicates").textContent = OC.num(r.duplicates);
    $("#r-suppressed").textContent = OC.num(r.suppressed);
    $("#r-invalid").textContent = OC.num(r.invalid_count ?? r.invalid.length);
    // Each reason in the page's language from its code, the English reason when untranslated.
    const why = (i) => {
      const key = "code." + i.code;
      const text = t(key, i.params || {});
      return text === key || i.code === "invalid_row" ? i.reason : text;
    };
    $("#invalid-rows").replaceChildren(...r.invalid.slice(0, 1000).map((i) => h("tr", {},
      h("td", { class: "num", text: i.row }), h("td", { text: i.value ?? "" }), h("td", { text: why(i), title: i.reason }))));
    $("#invalid-table").hidden = r.invalid.length === 0;
    const download = $("#invalid-download");
    download.hidden = !(r.invalid.length && (r.import || reportImport));
    download.dataset.import = r.import || reportImport || "";
    $("#import-report").hidden = false;
  }
  let reportImport = null; // the job's import id, when the report came from one

  async function downloadInvalid() {
    const id = $("#invalid-download").dataset.import;
    if (!id) return;
    try {
      const text = await api("GET", `/v1/imports/${id}/invalid.csv`);
      const url = URL.createObjectURL(new Blob(["\ufeff" + text], { type: "text/csv" }));
      const a = h("a", { href: url, download: `import-${id}-invalid.csv` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      showError(errorBox(), e);
    }
  }

  // ---- do-not-call ----
  async function dncAdd(ev) {
    ev.preventDefault();
    const form = $("#dnc-form");
    const body = { phone: $("#dnc-phone").value };
    const reason = $("#dnc-reason").value.trim();
    if (reason) body.reason = reason;
    try {
      const r = await api("POST", "/v1/dnc", body);
      showError(errorBox(), null, form);
      $("#dnc-result").textContent = t("lead.dnc.added", { phone: r.phone });
    } catch (e) { showError(errorBox(), e, form); }
  }

  async function dncLookup() {
    const form = $("#dnc-form");
    const phone = $("#dnc-phone").value.trim();
    try {
      const r = await api("GET", "/v1/dnc?phone=" + encodeURIComponent(phone));
      showError(errorBox(), null, form);
      const e = r.items[0];
      $("#dnc-result").textContent = e
        ? t("lead.dnc.listed", { phone: e.phone, by: e.added_by || "", at: OC.fmtTime(new Date(e.added_at), OC.browserZone) })
        : t("lead.dnc.notlisted", { phone });
    } catch (e) { showError(errorBox(), e, form); }
  }

  async function dncRemove() {
    const form = $("#dnc-form");
    const phone = $("#dnc-phone").value.trim();
    try {
      // A removal says why; the reason field serves both.
      const reason = $("#dnc-reason").value.trim();
      await api("DELETE", "/v1/dnc/" + encodeURIComponent(phone) + "?reason=" + encodeURIComponent(reason));
      showError(errorBox(), null, form);
      $("#dnc-result").textContent = t("lead.dnc.removed", { phone });
    } catch (e) { showError(errorBox(), e, form); }
  }

  async function dncCsv(ev) {
    ev.preventDefault();
    const file = $("#dnc-file").files[0];
    if (!file) return;
    try {
      const r = await upload("/v1/dnc", file, () => {});
      $("#dnc-result").textContent = JSON.stringify(r.data);
    } catch (e) { showError(errorBox(), e); }
  }

  // The list itself, a page at a time, and all of it as CSV.
  let dncAfter = null;
  async function loadDnc(more) {
    if (!more) { dncAfter = null; $("#dnc-rows").replaceChildren(); }
    try {
      const page = await api("GET", "/v1/dnc?limit=50" + (dncAfter ? "&after=" + encodeURIComponent(dncAfter) : ""));
      $("#dnc-rows").append(...page.items.map((e) => h("tr", {},
        h("td", { text: e.phone }), h("td", { text: e.reason || "" }), h("td", { class: "hide-narrow", text: e.added_by }),
        h("td", { text: e.added_at ? OC.fmtTime(new Date(e.added_at), OC.browserZone) : "" }))));
      dncAfter = page.next;
      $("#dnc-more").hidden = !page.next;
    } catch (e) { showError(errorBox(), e); }
  }

  // A download needs the token in a header, which a link cannot send: fetch it, then save it.
  async function download(path, filename) {
    try {
      const res = await fetch(path, { headers: { Authorization: "Bearer " + sessionStorage.getItem("outcall.token.lead") } });
      if (!res.ok) throw new OC.ApiError(res.status, await res.json().catch(() => ({})));
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: filename });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { showError(errorBox(), e); }
  }

  // ---- targets ----
  // What a target can be of, by name: campaigns, teams and agents (value: the scope_id).
  let scopes = { campaign: [], team: [], agent: [] };
  async function loadScopes() {
    const [campaigns, agents] = await Promise.all([all("/v1/campaigns"), all("/v1/agents")]);
    const collator = new Intl.Collator(OC.lang() === "zh" ? "zh-CN" : "en");
    const byLabel = (a, b) => collator.compare(a.label, b.label);
    scopes = {
      campaign: campaigns.map((c) => ({ value: String(c.id), label: c.name })).sort(byLabel),
      team: [...new Set(agents.map((a) => a.team).filter(Boolean))].map((n) => ({ value: n, label: n })).sort(byLabel),
      agent: agents.filter((a) => a.active).map((a) => ({ value: String(a.id), label: a.name + (a.team ? ` (${a.team})` : "") })).sort(byLabel),
    };
    renderScopeChoices();
  }

  function renderScopeChoices() {
    const f = $("#target-form");
    f.scope_id.replaceChildren(...(scopes[f.scope.value] || []).map((o) => h("option", { value: o.value, text: o.label })));
  }

  function scopeLabel(tg) {
    const hit = (scopes[tg.scope] || []).find((o) => o.value === String(tg.scope_id));
    return `${t("scope." + tg.scope)} ${hit ? hit.label : tg.scope_id}`;
  }

  async function loadTargets() {
    let items;
    try { await loadScopes(); items = await all("/v1/targets"); } catch (e) { showError(errorBox(), e); return; }
    $("#target-rows").replaceChildren(...items.map((tg) => {
      return h("tr", {},
        h("td", { text: scopeLabel(tg) }),
        h("td", { text: tg.period }),
        h("td", { text: t("metric." + tg.metric) }),
        h("td", {}, h("div", { class: "small" }, `${OC.num(tg.actual)} / ${OC.num(tg.goal)} `,
          h("span", { class: tg.on_track ? "ok" : "behind", text: tg.on_track ? t("dash.on_track") : `${t("dash.gap")} ${OC.num(tg.gap)}` })), OC.meter(tg.actual, tg.goal, tg.expected_by_now)),
        h("td", {}, h("button", { type: "button", class: "danger", onclick: async () => {
          try { await api("DELETE", `/v1/targets/${tg.id}`); loadTargets(); } catch (e) { showError(errorBox(), e); }
        } }, t("lead.t.delete"))));
    }));
  }

  async function addTarget(ev) {
    ev.preventDefault();
    const f = $("#target-form");
    try {
      await api("POST", "/v1/targets", {
        scope: f.scope.value, scope_id: f.scope_id.value, period: f.period.value.trim(),
        metric: f.metric.value, goal: Number(f.goal.value),
      });
      showError(errorBox(), null, f);
      toast(t("saved"));
      loadTargets();
    } catch (e) { showError(errorBox(), e, f); }
  }

  // ---- follow-ups ----
  async function loadFollowUps() {
    let items;
    try { items = await all("/v1/follow-ups"); } catch (e) { showError(errorBox(), e); return; }
    // The oldest deadline first; past ones marked.
    items.sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
    $("#followup-rows").replaceChildren(...(items.length ? items.map((f) => {
      const note = h("input", { placeholder: t("lead.fu.resolution"), maxlength: 4000 });
      const ageDays = Math.floor((Date.now() - Date.parse(f.created_at)) / 86400000);
      const overdue = Date.parse(f.due_at) < Date.now();
      return h("tr", { dataset: { followUp: String(f.id) } },
        h("td", {}, h("span", { class: overdue ? "behind" : "", text: OC.fmtTime(new Date(f.due_at), OC.browserZone) }),
          h("div", { class: "small muted", text: t("lead.fu.age", { days: ageDays }) })),
        h("td", {}, h("b", { text: f.contact_name || "#" + f.contact }), " ", h("a", { href: "tel:" + f.phone, text: f.phone }),
          h("div", { class: "small muted", text: f.campaign_name })),
        h("td", { class: "fu-agent", text: f.agent_name || "—" }),
        h("td", { text: f.notes || "" }),
        h("td", {}, note, " ", h("button", { type: "button", onclick: async () => {
          try {
            await api("PATCH", `/v1/follow-ups/${f.id}`, { resolved: true, resolution: note.value.trim() || null });
            loadFollowUps();
          } catch (e) { showError(errorBox(), e); }
        } }, t("lead.fu.resolve"))));
    }) : [h("tr", {}, h("td", { colspan: 5, class: "muted", text: t("lead.fu.empty") }))]));
  }

  // ---- offers and scripts ----
  async function createFrom(form, path, body) {
    try {
      await api("POST", path, body);
      showError(errorBox(), null, form);
      form.reset();
      toast(t("saved"));
      return true;
    } catch (e) { showError(errorBox(), e, form); return false; }
  }

  function zoneList() {
    const zones = (Intl.supportedValuesOf && Intl.supportedValuesOf("timeZone")) || ["Asia/Shanghai", "UTC"];
    $("#zones").replaceChildren(...zones.map((z) => h("option", { value: z })));
  }

  $$("[role=tab]").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  $("#new-campaign").addEventListener("click", () => edit(null));
  $("#campaign-cancel").addEventListener("click", () => { $("#campaign-form").hidden = true; });
  $("#campaign-form").addEventListener("submit", saveCampaign);
  $("#add-window").addEventListener("click", () => $("#windows").append(windowRow({ days: DAYS.slice(0, 5), start: "09:00", end: "18:00" })));
  $("[name=recurrence]").addEventListener("input", preview);
  $("[name=timezone]").addEventListener("change", preview);
  $("#import-form").addEventListener("submit", previewCsv);
  $("#import-confirm").addEventListener("click", importCsv);
  $("#preview-sheet").addEventListener("change", (e) => {
    if (pending) showPreview(pending.file, pending.campaign, e.target.value);
  });
  $("#invalid-download").addEventListener("click", downloadInvalid);
  $("#dnc-form").addEventListener("submit", dncAdd);
  $("#dnc-lookup").addEventListener("click", dncLookup);
  $("#dnc-remove").addEventListener("click", dncRemove);
  $("#dnc-csv-form").addEventListener("submit", dncCsv);
  $("#dnc-more").addEventListener("click", () => loadDnc(true));
  $("#dnc-export").addEventListener("click", () => download("/v1/dnc.csv", "dnc.csv"));
  $("#target-form").addEventListener("submit", addTarget);
  $("#target-form [name=scope]").addEventListener("change", renderScopeChoices);
  $("#offer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const body = { code: f.code.value.trim(), name: f.name.value.trim() };
    if (f.description.value.trim()) body.description = f.description.value.trim();
    createFrom(f, "/v1/offers", body);
  });
  $("#script-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    // A new script may ask its questions from its first version (issue 28, surveys).
    const list = $("#new-script-questions");
    const questions = OC.survey.questionsOf(list);
    createFrom(f, "/v1/scripts", { name: f.name.value.trim(), body: f.body.value, questions: questions.length ? questions : undefined })
      .then((made) => { if (made) OC.survey.renderEditor(list, []); });
  });
  OC.onLang(() => { renderCampaigns(); if (!$("#campaign-form").hidden) preview(); });
  zoneList();
  OC.session("/v1/campaigns?limit=1", () => showTab("campaigns"));
})();
