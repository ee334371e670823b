// Wall dashboard: today's and this month's numbers, agents by state, campaigns (callable now,
// the day the list runs out, against target), offers, outcomes per hour and an agent
// leaderboard, kept live by the event stream. Every date, hour and number is written in the
// board's language; nothing needs a hover; it fits one screen.
"use strict";
(() => {
  const { t, h, $, api, showError } = OC;
  const feed = [];
  let chart = null;
  let refreshTimer = null;
  let lastRefresh = 0;
  let refreshing = false;
  // However fast events arrive, the numbers are re-read at most this often; between two reads
  // the live events move the counters themselves.
  const THROTTLE_MS = 5000;
  let stream = null;

  function todayStart() {
    const d = new Date();
    d.setHours(0, 0, 0, 0);
    return d;
  }
  function monthStart() {
    const d = todayStart();
    d.setDate(1);
    return d;
  }
  const q = (d) => encodeURIComponent(d.toISOString());
  const locale = () => (OC.lang() === "zh" ? "zh-CN" : "en-GB");
  // What a role may not read (the floor and forecasts are for supervisors) is left out quietly.
  const optional = (p) => p.catch((e) => (e.status === 403 ? null : Promise.reject(e)));
  const STATES = ["on_call", "wrap_up", "ready", "paused", "offline"];

  async function refresh() {
    if (refreshing) return soon();
    refreshing = true;
    lastRefresh = Date.now();
    clearTimeout(refreshTimer);
    refreshTimer = null;
    const from = q(todayStart());
    const to = q(new Date());
    try {
      const [offers, month, floor, agents, campaigns, series, funnel] = await Promise.all([
        api("GET", `/v1/stats/offers?from=${from}&to=${to}`),
        api("GET", `/v1/stats/offers?from=${q(monthStart())}&to=${to}`),
        optional(api("GET", "/v1/floor")),
        api("GET", `/v1/stats/agents?from=${from}&to=${to}`),
        api("GET", "/v1/campaigns?limit=100"),
        api("GET", `/v1/stats/timeseries?bucket=hour&from=${q(new Date(Date.now() - 12 * 3600e3))}&to=${to}&timezone=${encodeURIComponent(OC.browserZone)}`),
        optional(api("GET", `/v1/stats/funnel?from=${q(monthStart())}`)),
      ]);
      const live = campaigns.items.filter((c) => c.status !== "completed" && c.status !== "draft");
      const [stats, funnels, forecasts] = await Promise.all([
        Promise.all(live.map((c) => api("GET", `/v1/stats/campaigns/${c.id}`))),
        Promise.all(live.map((c) => optional(api("GET", `/v1/campaigns/${c.id}/eligibility`)))),
        Promise.all(live.map((c) => optional(api("GET", `/v1/campaigns/${c.id}/forecast`)))),
      ]);
      showError($("#error"), null);
      renderKpis(offers.items, month.items);
      // Of this month's accepted, how many billing activated.
      $("#k-activation-rate").textContent = funnel && funnel.activation_rate != null ? OC.pct(funnel.activation_rate) : "–";
      renderStates(floor);
      renderOffers(offers.items);
      renderLeaders(agents.items);
      renderCampaigns(live, stats, funnels, forecasts);
      renderChart(series.items);
    } catch (e) {
      showError($("#error"), e);
    } finally {
      refreshing = false;
    }
  }

  /** A refresh after the next event: at once if the last was long enough ago, else when it will
   *  have been; never more than one waiting. */
  function soon() {
    if (refreshTimer !== null) return;
    const wait = Math.max(0, lastRefresh + THROTTLE_MS - Date.now());
    refreshTimer = setTimeout(refresh, wait);
  }

  function sum(items) {
    const s = { attempts: 0, reached: 0, conversions: 0 };
    for (const i of items) { s.attempts += i.attempts; s.reached += i.reached; s.conversions += i.conversions; }
    return s;
  }

  function renderKpis(offers, month) {
    const s = sum(offers);
    $("#k-month").textContent = OC.num(sum(month).conversions);
    $("#k-attempts").textContent = OC.num(s.attempts);
    $("#k-reached").textContent = OC.num(s.reached);
    $("#k-conversions").textContent = OC.num(s.conversions);
    $("#k-contact-rate").textContent = s.attempts ? OC.pct(s.reached / s.attempts) : "–";
    $("#k-conversion-rate").textContent = s.attempts ? OC.pct(s.conversions / s.attempts) : "–";
  }

  function renderStates(floor) {
    $("#k-states").hidden = !floor;
    if (!floor) return;
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const a of floor.agents) counts[a.state] = (counts[a.state] || 0) + 1;
    $("#state-counts").replaceChildren(...STATES.map((s) => h("li", { class: "state-" + s, dataset: { state: s } },
      h("b", { text: OC.num(counts[s]) }), t("floor.state." + s))));
  }

  function renderOffers(items) {
    const top = [...items].sort((a, b) => b.conversions - a.conversions || b.attempts - a.attempts).slice(0, 6);
    $("#offer-rows").replaceChildren(...top.map((o) => h("tr", {},
      h("td", { text: o.name }),
      h("td", { class: "num", text: OC.num(o.attempts) }),
      h("td", { class: "num", text: OC.num(o.conversions) }),
      h("td", { class: "num", text: OC.pct(o.conversion_rate) }))));
  }

  /** A day "YYYY-MM-DD" in the board's language ("12月7日" / "7 Dec"). */
  function day(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text || "");
    if (!m) return text || "";
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12));
    return new Intl.DateTimeFormat(locale(), { timeZone: "UTC", month: "short", day: "numeric", weekday: "short" }).format(d);
  }

  function renderLeaders(items) {
    const top = [...items].sort((a, b) => b.conversions - a.conversions || b.reached - a.reached || a.agent_name.localeCompare(b.agent_name)).slice(0, 8);
    $("#leader-rows").replaceChildren(...top.map((a, i) => h("tr", { dataset: { agent: a.agent } },
      h("td", { text: i + 1 }),
      h("td", { text: a.agent_name + (a.team ? ` · ${a.team}` : "") }),
      h("td", { class: "num", text: OC.num(a.conversions) }),
      h("td", { class: "num", text: OC.num(a.reached) }),
      h("td", { class: "num", text: OC.num(a.attempts) }))));
  }

  function targetCell(target) {
    if (!target) return h("td", { class: "muted small", text: t("dash.no_target") });
    return h("td", {},
      h("div", { class: "small" },
        `${OC.num(target.actual)} / ${OC.num(target.goal)} ${t("metric." + target.metric)} (${target.period}) · `,
        h("span", { class: target.on_track ? "ok" : "behind", text: target.on_track ? t("dash.on_track") : `${t("dash.behind")} · ${t("dash.gap")} ${OC.num(target.gap)}` }),
        ` · ${t("dash.pace")} ${OC.num(Math.round(target.expected_by_now))}`),
      OC.meter(target.actual, target.goal, target.expected_by_now));
  }

  function renderCampaigns(list, stats, funnels, forecasts) {
    $("#campaign-rows").replaceChildren(...list.slice(0, 8).map((c, i) => {
      const s = stats[i];
      const funnel = funnels[i];
      const forecast = forecasts[i];
      const runsOut = !forecast ? "–" : forecast.exhausted_on ? day(forecast.exhausted_on) : t("dash.runs_out.later");
      return h("tr", { dataset: { campaign: c.id } },
        h("td", {}, c.name, " ", h("span", { class: "badge " + c.status, text: t("status." + c.status) })),
        h("td", { class: "num", dataset: { callable: c.id }, text: funnel ? OC.num(funnel.callable_now) : "–" }),
        h("td", { dataset: { runsOut: c.id }, text: runsOut }),
        h("td", { class: "num", text: OC.num(s.attempts) }),
        h("td", { class: "num", dataset: { conversions: c.id }, text: OC.num(s.conversions) }),
        h("td", { class: "num", text: OC.pct(s.conversion_rate) }),
        h("td", { class: "num", dataset: { activationRate: c.id }, text: s.activation_rate != null ? OC.pct(s.activation_rate) : "–" }),
        targetCell(s.target));
    }));
  }

  function renderChart(items) {
    const box = $("#chart");
    // Every hour of the last 12, empty ones as zero, so the axis always shows the same span.
    const byHour = new Map(items.map((b) => [Math.floor(Date.parse(b.at) / 3600e3), b]));
    const now = Math.floor(Date.now() / 3600e3);
    const hours = Array.from({ length: 13 }, (_, i) => now - 12 + i);
    const get = (hr, k) => (byHour.get(hr) || {})[k] || 0;
    const data = [hours.map((hr) => hr * 3600), hours.map((hr) => get(hr, "attempts")),
      hours.map((hr) => get(hr, "reached")), hours.map((hr) => get(hr, "conversions"))];
    const { width, height } = chartSize();
    if (chart) { chart.setData(data); chart.setSize({ width, height }); return; }
    const bars = uPlot.paths.bars({ size: [0.8, 40] });
    const axis = { stroke: "#93a1b5", grid: { stroke: "#263447" }, ticks: { stroke: "#263447" }, font: "14px system-ui, sans-serif" };
    // Hours and counts in the board's language ("14:00", never "2pm" or "12/7/26").
    const hour = new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const series = [
      { label: t("dash.attempts"), stroke: "#58a6ff", fill: "rgba(88,166,255,.25)", paths: bars },
      { label: t("dash.reached"), stroke: "#d29922", width: 2 },
      { label: t("dash.conversions"), stroke: "#3fb950", width: 3 },
    ];
    $("#chart-legend").replaceChildren(...series.map((s) => h("span", {}, legendSwatch(s.stroke), s.label)));
    chart = new uPlot({
      width, height,
      legend: { show: false },
      cursor: { show: false },
      series: [{}, ...series],
      axes: [
        { ...axis, space: 70, values: (u, ticks) => ticks.map((s) => hour.format(new Date(s * 1000))) },
        { ...axis, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], values: (u, ticks) => ticks.map((n) => OC.num(n)) },
      ],
      scales: { x: { time: true } },
    }, data, box);
  }

  function legendSwatch(colour) {
    const i = h("i");
    i.style.background = colour;
    return i;
  }

  function chartSize() {
    const box = $("#chart");
    const card = box.parentElement;
    const used = [...card.children].filter((c) => c !== box).reduce((n, c) => n + c.offsetHeight, 0);
    return { width: Math.max(280, box.clientWidth || 600), height: Math.max(140, card.clientHeight - used - 24) };
  }

  function onEvent(kind, e) {
    // Calls change nothing this page shows; agents' states change the counts by state.
    if (kind === "call") return;
    if (kind === "agent") { soon(); return; }
    if (kind === "reset") {
      // The server could not send everything this page missed (too much, or already pruned):
      // the counters and the feed lack events, so the numbers are read again, throttled like
      // any refresh. The stream goes on live from the reset's id.
      soon();
      return;
    }
    if (kind === "outcome") {
      bump("#k-attempts");
      // What counts as reached and as a conversion is the server's to say.
      if (e.reached) bump("#k-reached");
      if (e.conversion) bump("#k-conversions");
      feed.unshift(e);
      feed.length = Math.min(feed.length, 12);
      renderFeed();
    }
    soon();
  }

  function bump(sel) {
    const el = $(sel);
    const n = Number((el.textContent || "0").replace(/[^\d]/g, "")) || 0;
    el.textContent = OC.num(n + 1);
  }

  function renderFeed() {
    $("#feed").replaceChildren(...feed.map((e) => h("li", {},
      h("span", { class: "muted", text: OC.fmtTime(new Date(e.at), OC.browserZone, false) }), " ",
      h("b", { class: e.conversion ? "ok" : "", text: t("d." + e.disposition) }), " · ",
      e.agent_name || ("#" + e.agent), " · ", e.offer || "")));
  }

  function liveState(up) {
    $("#live-dot").classList.toggle("off", !up);
    $("#live-text").textContent = up ? t("dash.live") : t("dash.reconnecting");
    if (up) soon();
  }

  function clock() { $("#clock").textContent = OC.fmtTime(new Date(), OC.browserZone); }

  OC.onLang(() => { if (chart) { chart.destroy(); chart = null; } renderFeed(); refresh(); clock(); });
  window.addEventListener("resize", () => { if (chart) chart.setSize(chartSize()); });
  OC.session("/v1/stats/offers", () => {
    refresh();
    if (stream) stream.stop();
    stream = OC.events("/v1/events", onEvent, liveState);
    setInterval(refresh, 60000);
    setInterval(clock, 10000);
    clock();
  });
})();
