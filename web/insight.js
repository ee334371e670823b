// Campaign console, "why isn't it dialing?": a campaign's warnings, its funnel (callable now or
// the first reason each contact is held back for), its forecast with a chart of the contacts
// remaining by day, and a contact looked up by phone with every reason in every campaign.
// lead.js shows the warning marker and the Insight button through OC.insight.
"use strict";
(() => {
  const { t, h, $, api, showError } = OC;
  // The reason vocabulary, in the order the server counts first blocking reasons.
  const REASONS = ["campaign_not_active", "outside_campaign_window", "outside_calling_hours", "blackout_date",
    "dnc", "consent_refused", "cool_off", "phone_cap", "phone_min_gap", "retry_wait", "max_attempts", "leased",
    "reserved_for_agent", "callback_pending", "list_inactive", "no_agent_for_team", "agents_busy_elsewhere", "done"];
  const SVG = "http://www.w3.org/2000/svg";
  const errorBox = () => $("#error");
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const reason = (code) => t("reason." + code);

  let shown = null;   // {campaign, funnel, forecast}: what the insight panel shows
  let looked = null;  // {phone, person, places: [{place, campaign}]}: the last look-up

  /** A date without a time ("2026-12-03"), in the page's language. */
  function fmtDate(date) {
    return new Intl.DateTimeFormat(OC.lang() === "zh" ? "zh-CN" : "en-GB", {
      timeZone: "UTC", weekday: "short", year: "numeric", month: "short", day: "numeric",
    }).format(new Date(date + "T00:00:00Z"));
  }

  function shortDate(date) {
    return new Intl.DateTimeFormat(OC.lang() === "zh" ? "zh-CN" : "en-GB", { timeZone: "UTC", month: "short", day: "numeric" })
      .format(new Date(date + "T00:00:00Z"));
  }

  // ---- the warning marker in the campaigns table ----
  function warningMark(c) {
    const list = c.warnings || [];
    if (!list.length) return null;
    return h("button", {
      type: "button", class: "warn-mark", dataset: { count: list.length },
      title: list.map((w) => `${t("warn." + w.kind)}: ${OC.codeText(w.code, w.params, w.message)}`).join("\n"),
      "aria-label": t("lead.warnings", { n: list.length }),
      onclick: () => open(c),
    }, "⚠ " + list.length);
  }

  // ---- the insight panel ----
  async function open(c) {
    shown = { campaign: c, funnel: null, forecast: null };
    const panel = $("#insight");
    panel.dataset.campaign = c.id;
    panel.hidden = false;
    showError(errorBox(), null, $("#forecast-form"));
    $("#forecast-form").reset();
    render();
    panel.scrollIntoView({ block: "nearest" });
    const mine = shown;
    try {
      const funnel = await api("GET", `/v1/campaigns/${c.id}/eligibility`);
      if (shown !== mine) return;
      shown.funnel = funnel;
      renderFunnel();
    } catch (e) { showError(errorBox(), e); }
    await forecast({});
  }

  // A warning in the page's language (`code.<code>` with its params) when there is a
  // translation, else the server's English message.
  function warningText(w) {
    const key = "code." + w.code;
    const s = t(key, w.params || {});
    return s === key ? w.message : s;
  }

  function render() {
    if (!shown) return;
    const c = shown.campaign;
    $("#insight-title").textContent = t("in.title", { id: c.id, name: c.name });
    const list = c.warnings || [];
    $("#insight-warnings").replaceChildren(...(list.length
      ? list.map((w) => h("li", { dataset: { code: w.kind } }, h("b", { text: t("warn." + w.kind) }), " — ", OC.codeText(w.code, w.params, w.message)))
      : [h("li", { class: "muted", text: t("in.warnings.none") })]));
    renderFunnel();
    renderForecast();
  }

  function renderFunnel() {
    const f = shown && shown.funnel;
    if (!f) { $("#funnel").replaceChildren(); $("#next-callable").textContent = ""; return; }
    const rows = [["callable_now", t("in.callable_now"), f.callable_now]]
      .concat(REASONS.filter((r) => f.blocked[r] > 0).map((r) => [r, cap(reason(r)), f.blocked[r]]));
    const total = rows.reduce((n, r) => n + r[2], 0) || 1;
    $("#funnel").replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}), h("th", { class: "num", text: t("in.contacts") }), h("th", { class: "hide-narrow" }))),
      h("tbody", {}, ...rows.map(([code, label, n]) => {
        const bar = h("span");
        bar.style.width = ((n / total) * 100).toFixed(1) + "%";
        return h("tr", { dataset: { code }, class: code === "callable_now" ? "callable" : "" },
          h("td", { text: label }), h("td", { class: "num", text: OC.num(n) }),
          h("td", { class: "funnel-bar hide-narrow" }, bar));
      })));
    const zone = shown.campaign.timezone;
    $("#next-callable").textContent = f.next_callable_at
      ? t("in.next_callable", { time: `${OC.fmtTime(new Date(f.next_callable_at), zone)} (${zone})` })
      : t("in.next_callable.none");
  }

  // ---- the forecast ----
  async function forecast(params) {
    const mine = shown;
    const form = $("#forecast-form");
    const query = Object.entries(params).filter(([, v]) => v !== "").map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
    try {
      const f = await api("GET", `/v1/campaigns/${mine.campaign.id}/forecast` + (query ? "?" + query : ""));
      if (shown !== mine) return;
      showError(errorBox(), null, form);
      shown.forecast = f;
      form.agents.value = f.assumptions.agents;
      form.handle_time.value = f.assumptions.handle_time;
      form.days.value = f.days.length;
      renderForecast();
    } catch (e) { if (shown === mine) showError(errorBox(), e, form); }
  }

  function runForecast(ev) {
    ev.preventDefault();
    if (!shown) return;
    const f = ev.target;
    forecast({ agents: f.agents.value.trim(), handle_time: f.handle_time.value.trim(), days: f.days.value.trim() });
  }

  function renderForecast() {
    const f = shown && shown.forecast;
    const out = $("#exhausted-on");
    if (!f) {
      $("#forecast-chart").replaceChildren();
      out.textContent = ""; delete out.dataset.date;
      $("#agents-needed").textContent = ""; $("#assumptions").textContent = "";
      return;
    }
    // The campaign's start and end, as local dates (its times are written in its zone).
    const c = shown.campaign;
    const bounds = { start: c.start_at ? c.start_at.slice(0, 10) : null, end: c.end_at ? c.end_at.slice(0, 10) : null };
    $("#forecast-chart").replaceChildren(chart(f.days, f.exhausted_on, bounds));
    if (f.exhausted_on) {
      out.dataset.date = f.exhausted_on;
      out.textContent = t("in.exhausted_on", { date: fmtDate(f.exhausted_on) });
    } else {
      delete out.dataset.date;
      out.textContent = t("in.exhausted.never", { n: f.days.length });
    }
    const needed = f.agents_needed_to_finish_by_end;
    $("#agents-needed").textContent = (needed === null || needed === undefined
      ? t("in.agents_needed.none") : t("in.agents_needed", { n: OC.num(needed) }))
      + (f.remaining_at_end === null || f.remaining_at_end === undefined
        ? "" : " " + t("in.remaining_at_end", { n: OC.num(f.remaining_at_end) }));
    const a = f.assumptions;
    $("#assumptions").textContent = t("in.assumptions", {
      agents: OC.num(a.agents), handle: OC.num(a.handle_time), contact: OC.pct(a.contact_rate),
      conversion: OC.pct(a.conversion_rate), from: t("in.from." + a.rates_from),
    }) + (f.shared_with && f.shared_with.length ? " " + t("in.shared_with", {
      list: f.shared_with.map((r) => t("in.shared_item", r)).join(t("in.shared_sep")),
    }) : "");
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  /** Bars of the contacts remaining at the end of each day; the day the list runs out stands out. */
  function chart(days, exhausted, bounds = {}) {
    const W = 720, H = 200, L = 48, R = 8, T = 10, B = 26;
    const max = Math.max(1, ...days.map((d) => d.remaining));
    const step = (W - L - R) / Math.max(1, days.length);
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const bars = days.map((d, i) => {
      const top = y(d.remaining);
      return svg("rect", {
        class: d.date === exhausted ? "bar out" : "bar", "data-date": d.date,
        x: (L + i * step + step * 0.1).toFixed(1), y: top.toFixed(1),
        width: Math.max(1, step * 0.8).toFixed(1), height: (H - B - top).toFixed(1),
      }, svg("title", {}, t("in.day_remaining", { date: fmtDate(d.date), n: OC.num(d.remaining) })));
    });
    const label = (x, yy, anchor, text) => svg("text", { x, y: yy, "text-anchor": anchor }, text);
    const ticks = days.length ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : [];
    const end = days.findIndex((d) => d.date === exhausted);
    const mark = end < 0 ? [] : [
      svg("line", { class: "out-mark", x1: L + (end + 0.5) * step, y1: T, x2: L + (end + 0.5) * step, y2: H - B }),
      svg("text", { class: "out-mark", x: L + (end + 0.5) * step + 4, y: T + 10, "text-anchor": "start" }, shortDate(exhausted)),
    ];
    // The campaign's start and end, where they fall within the days shown.
    const bound = (date, key, row) => {
      const i = date ? days.findIndex((d) => d.date === date) : -1;
      if (i < 0) return [];
      const x = L + i * step + (key === "start" ? 0 : step);
      return [
        svg("line", { class: "bound-mark", "data-bound": key, x1: x, y1: T, x2: x, y2: H - B }),
        svg("text", { class: "bound-mark", x: x + 4, y: T + 10 + row * 12, "text-anchor": "start" }, t("in.bound." + key)),
      ];
    };
    mark.push(...bound(bounds.start, "start", 1), ...bound(bounds.end, "end", 2));
    return svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("in.chart") },
      svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }),
      svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }),
      label(L - 6, T + 10, "end", OC.num(max)), label(L - 6, H - B, "end", "0"),
      ...[...new Set(ticks)].map((i) => label(L + i * step + step / 2, H - 8, "middle", shortDate(days[i].date))),
      ...bars, ...mark);
  }

  // ---- why is this person not called? ----
  async function lookup(ev) {
    ev.preventDefault();
    const form = $("#why-form");
    const phone = $("#why-phone").value.trim();
    try {
      const found = await api("GET", "/v1/contacts?phone=" + encodeURIComponent(phone));
      showError(errorBox(), null, form);
      const person = found.items[0];
      if (!person) { looked = { phone }; renderWhy(); return; }
      const e = await api("GET", `/v1/contacts/${person.id}/eligibility`);
      // The explanation names campaigns by id; their names and zones come from the campaigns.
      const campaigns = await Promise.all(e.campaigns.map((p) => api("GET", `/v1/campaigns/${p.campaign}`).catch(() => null)));
      looked = { phone, person, places: e.campaigns.map((place, i) => ({ place, campaign: campaigns[i] })) };
      renderWhy();
    } catch (err) {
      looked = null;
      $("#why-result").replaceChildren();
      showError(errorBox(), err, form);
    }
  }

  function renderWhy() {
    const box = $("#why-result");
    if (!looked) { box.replaceChildren(); return; }
    if (!looked.person) { box.replaceChildren(h("p", { class: "muted", text: t("why.notfound", { phone: looked.phone }) })); return; }
    const p = looked.person;
    box.replaceChildren(
      h("p", {}, h("b", { text: [p.phone, p.name, p.timezone].filter(Boolean).join(" · ") })),
      ...(looked.places.length ? looked.places.map(({ place, campaign }) => {
        const zone = (campaign && campaign.timezone) || OC.browserZone;
        const when = (ts) => OC.fmtTime(new Date(ts), zone);
        return h("div", { class: "why-campaign", dataset: { campaign: place.campaign } },
          h("div", { class: "toolbar" },
            h("b", { text: `#${place.campaign} ${campaign ? campaign.name : ""}` }),
            h("span", { class: place.callable ? "badge active" : "badge paused", text: place.callable ? t("why.callable") : t("why.not_callable") }),
            h("span", { class: "small callable-at", text: place.callable_at
              ? t("why.callable_at", { time: when(place.callable_at), zone }) : place.callable ? "" : t("why.never") })),
          h("ul", { class: "reasons" }, ...place.reasons.map((r) => h("li", { dataset: { reason: r.code } },
            cap(reason(r.code)), r.until ? h("span", { class: "muted", text: " — " + t("why.until", { time: when(r.until) }) }) : null,
            r.params && r.params.campaigns ? h("span", { class: "muted", text: " — " + r.params.campaigns.join(", ") }) : null))));
      }) : [h("p", { class: "muted", text: t("why.none") })]));
  }

  $("#insight-close").addEventListener("click", () => { shown = null; $("#insight").hidden = true; });
  $("#forecast-form").addEventListener("submit", runForecast);
  $("#why-form").addEventListener("submit", lookup);
  OC.onLang(() => { render(); renderWhy(); });

  OC.insight = { warningMark, open };
})();
