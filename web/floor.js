// The floor: one tile per agent (state and for how long, the call held, its campaign and talk
// time, today's numbers) with the supervisor's actions on it — pause for a reason, sign out,
// release the call, each confirmed and shown on the tile at once — a summary of states per
// team and callable contacts per campaign, sortable and filterable by team, kept live by the
// event stream: every `agent` or `call` event reads the floor again (throttled), and the clocks
// tick in between.
"use strict";
(() => {
  const { t, h, $, api, showError } = OC;
  // A call or a pause this long is coloured.
  const LONG_CALL_S = 600;
  const LONG_PAUSE_S = 900;
  const ORDER = ["on_call", "wrap_up", "ready", "paused", "offline"];

  let agents = [];
  let stream = null;
  let pending = null;
  let campaigns = new Map(); // id → {name, callable_now}
  let reasons = [];
  /** The pause reason a supervisor picked on each agent's tile, kept across redraws. */
  const picked = new Map();

  async function refresh() {
    try {
      const floor = await api("GET", "/v1/floor");
      agents = floor.agents;
      showError($("#error"), null);
      renderTeams();
      render();
      loadCampaigns();
    } catch (e) {
      showError($("#error"), e);
    }
  }

  // Campaign names for the tiles, and how many contacts each active one could call now.
  let campaignsAt = 0;
  async function loadCampaigns() {
    if (Date.now() - campaignsAt < 15000) return;
    campaignsAt = Date.now();
    try {
      const page = await api("GET", "/v1/campaigns?limit=200");
      const next = new Map();
      await Promise.all(page.items.map(async (c) => {
        const entry = { name: c.name, status: c.status, callable_now: null };
        if (c.status === "active") {
          try { entry.callable_now = (await api("GET", `/v1/campaigns/${c.id}/eligibility`)).callable_now; } catch (e) { /* shown without */ }
        }
        next.set(c.id, entry);
      }));
      campaigns = next;
      render();
    } catch (e) { /* names fall back to numbers */ }
  }

  async function loadReasons() {
    try { reasons = (await api("GET", "/v1/pause-reasons?limit=1000")).items.map((r) => r.name); } catch (e) { reasons = []; }
  }

  function campaignName(id) {
    const c = campaigns.get(id);
    return c ? c.name : t("floor.campaign") + " #" + id;
  }

  // ---- the supervisor's actions, each confirmed; the tile shows the answer at once ----
  async function act(a, what, request) {
    try {
      const answer = await request();
      showError($("#error"), null);
      OC.toast(t("floor.done." + what, { name: a.name }));
      if (answer && answer.state) Object.assign(a, { state: answer.state, pending: answer.pending || null, pending_reason: answer.pending ? answer.reason : null, reason: answer.pending ? a.reason : answer.reason, since: answer.since || a.since });
      if (what === "release") a.call = null;
      render();
      soon();
    } catch (e) {
      showError($("#error"), e);
    }
  }

  function pauseAgent(a, reason) {
    if (!window.confirm(t("floor.confirm.pause", { name: a.name, reason }))) return;
    act(a, "pause", () => api("POST", `/v1/agents/${a.agent}/state`, { state: "paused", reason }));
  }

  function signOutAgent(a) {
    if (!window.confirm(t("floor.confirm.signout", { name: a.name }))) return;
    act(a, "signout", () => api("POST", `/v1/agents/${a.agent}/state`, { state: "offline" }));
  }

  function releaseCall(a) {
    if (!a.call || !window.confirm(t("floor.confirm.release", { name: a.name }))) return;
    act(a, "release", () => api("POST", `/v1/calls/${a.call.id}/release`, { reason: "supervisor" }));
  }

  function actions(a) {
    if (a.state === "offline") return null;
    const box = h("div", { class: "tile-actions" });
    if (a.state !== "paused" && !a.pending) {
      // The tiles are redrawn every second: the reason picked stays picked.
      const select = h("select", { class: "tile-reason", "aria-label": t("floor.reason"),
        onchange: () => { picked.set(a.agent, select.value); } },
        ...reasons.map((r) => h("option", { value: r, text: r, selected: picked.get(a.agent) === r })));
      box.append(select, h("button", { type: "button", class: "tile-pause", disabled: reasons.length === 0,
        onclick: () => pauseAgent(a, select.value), text: t("floor.pause") }));
    }
    if (a.pending !== "offline") box.append(h("button", { type: "button", class: "tile-signout", onclick: () => signOutAgent(a), text: t("floor.signout") }));
    if (a.call) box.append(h("button", { type: "button", class: "tile-release", onclick: () => releaseCall(a), text: t("floor.release") }));
    return box;
  }

  // Counts by state per team, and callable-now per active campaign.
  function renderSummary() {
    const teams = new Map();
    for (const a of agents) {
      const team = a.team || "—";
      if (!teams.has(team)) teams.set(team, Object.fromEntries(ORDER.map((s) => [s, 0])));
      teams.get(team)[a.state] += 1;
    }
    const collator = new Intl.Collator(OC.lang() === "zh" ? "zh-CN" : "en");
    const rows = [...teams.entries()].sort((x, y) => collator.compare(x[0], y[0])).map(([team, n]) =>
      h("tr", { dataset: { team } }, h("th", { text: team }), ...ORDER.map((s) => h("td", { class: "num", dataset: { state: s }, text: OC.num(n[s]) }))));
    const table = h("table", { class: "summary-states" },
      h("thead", {}, h("tr", {}, h("th", { text: t("floor.team") }), ...ORDER.map((s) => h("th", { class: "num", text: t("floor.state." + s) })))),
      h("tbody", {}, ...rows));
    const active = [...campaigns.entries()].filter(([, c]) => c.status === "active")
      .sort((x, y) => collator.compare(x[1].name, y[1].name));
    const callable = h("ul", { class: "summary-callable" }, ...active.map(([id, c]) =>
      h("li", { dataset: { campaign: String(id) } }, h("b", { text: c.name }), " · ",
        t("floor.callable_now", { n: c.callable_now == null ? "—" : OC.num(c.callable_now) }))));
    $("#summary").replaceChildren(table, active.length ? callable : "");
    $("#legend-call").textContent = t("floor.legend.call", { min: LONG_CALL_S / 60 });
    $("#legend-pause").textContent = t("floor.legend.pause", { min: LONG_PAUSE_S / 60 });
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 250);
  }

  function secondsSince(iso) { return Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000)); }
  function secondsUntil(iso) { return Math.max(0, Math.floor((new Date(iso).getTime() - Date.now()) / 1000)); }
  function clockText(s) {
    const m = Math.floor(s / 60);
    return (m >= 60 ? Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0") : String(m)) + ":" + String(s % 60).padStart(2, "0");
  }

  function renderTeams() {
    const select = $("#team");
    const chosen = select.value;
    const teams = [...new Set(agents.map((a) => a.team).filter(Boolean))].sort();
    select.replaceChildren(h("option", { value: "", text: t("floor.all_teams") }),
      ...teams.map((team) => h("option", { value: team, text: team })));
    select.value = teams.includes(chosen) ? chosen : "";
  }

  function sorted(list) {
    const by = $("#sort").value;
    // Names in the page's language's order (pinyin on the Chinese floor).
    const collator = new Intl.Collator(OC.lang() === "zh" ? "zh-CN" : "en");
    const byName = (x, y) => collator.compare(x.name, y.name);
    const cmp = {
      name: byName,
      state: (x, y) => (ORDER.indexOf(x.state) - ORDER.indexOf(y.state)) || byName(x, y),
      time: (x, y) => (secondsSince(y.since) - secondsSince(x.since)) || byName(x, y),
    }[by] || byName;
    return [...list].sort(cmp);
  }

  function tile(a) {
    const inState = secondsSince(a.since);
    // A long call and a long pause are told apart by colour (see the legend).
    const long = a.state === "on_call" && inState >= LONG_CALL_S ? " long-call"
      : a.state === "paused" && inState >= LONG_PAUSE_S ? " long-pause" : "";
    const reason = a.pending ? null : a.reason;
    const state = t("floor.state." + a.state) + (reason ? " · " + reason : "");
    // A pause or sign-out waiting for the agent's call to end.
    const pending = a.pending ? t("floor.pending." + a.pending) + (a.pending_reason ? " · " + a.pending_reason : "") : null;
    const today = a.today;
    return h("div", { class: "card tile state-" + a.state + long, dataset: { agent: String(a.agent), state: a.state } },
      h("div", { class: "tile-head" }, h("b", { class: "tile-name", text: a.name }), h("span", { class: "muted small", text: a.team || "" })),
      h("div", { class: "tile-state" }, h("span", { text: state }), " ", h("span", { class: "tile-clock", text: clockText(inState) })),
      pending ? h("div", { class: "small warn-mark tile-pending", text: "→ " + pending }) : null,
      a.release_limited ? h("div", { class: "small warn-mark tile-release-limited", text: t("floor.release_limited") }) : null,
      a.call ? h("div", { class: "small tile-call" },
        h("b", { text: campaignName(a.call.campaign) }), " · " + t("floor.talk") + " " + clockText(secondsSince(a.call.leased_at))
        + " · " + t("floor.left") + " " + clockText(secondsUntil(a.call.lease_expires_at))) : null,
      h("div", { class: "small muted tile-today" },
        `${t("dash.attempts")} ${OC.num(today.attempts)} · ${t("dash.reached")} ${OC.num(today.reached)} · ${t("dash.conversions")} ${OC.num(today.conversions)}`
        + (today.handle_time_avg_s == null ? "" : ` · ${t("floor.aht")} ${clockText(Math.round(today.handle_time_avg_s))}`)
        + ` · ${t("floor.paused")} ${clockText(today.paused_s)}`
        + (today.releases ? ` · ${t("floor.releases")} ${OC.num(today.releases)}` : "")),
      actions(a));
  }

  function render() {
    const team = $("#team").value;
    const list = sorted(agents.filter((a) => !team || a.team === team));
    // A tile whose reason list is open is not redrawn under the supervisor's hand.
    if (document.activeElement && document.activeElement.classList.contains("tile-reason")) { renderSummary(); return; }
    $("#tiles").replaceChildren(...(list.length ? list.map(tile) : [h("p", { class: "muted", text: t("none") })]));
    renderSummary();
  }

  function onEvent(kind) {
    if (kind === "agent" || kind === "call" || kind === "reset") soon();
  }

  function liveState(up) {
    $("#live-dot").classList.toggle("off", !up);
    $("#live-text").textContent = up ? t("dash.live") : t("dash.reconnecting");
    if (up) soon();
  }

  $("#team").addEventListener("change", render);
  $("#sort").addEventListener("change", render);
  OC.onLang(() => { renderTeams(); render(); });
  OC.session("/v1/floor", () => {
    loadReasons().then(render);
    refresh();
    if (stream) stream.stop();
    stream = OC.events("/v1/events", onEvent, liveState);
    setInterval(render, 1000);
    setInterval(refresh, 60000);
  });
})();
