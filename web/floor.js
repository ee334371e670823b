// The floor: one tile per agent (state and for how long, the call held and its lease time left,
// today's numbers), sortable and filterable by team, kept live by the event stream: every
// `agent` or `call` event reads the floor again (throttled), and the clocks tick in between.
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

  async function refresh() {
    try {
      const floor = await api("GET", "/v1/floor");
      agents = floor.agents;
      showError($("#error"), null);
      renderTeams();
      render();
    } catch (e) {
      showError($("#error"), e);
    }
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
    const key = {
      name: (a) => a.name,
      state: (a) => String(ORDER.indexOf(a.state)) + a.name,
      time: (a) => -secondsSince(a.since),
    }[by] || ((a) => a.name);
    return [...list].sort((x, y) => {
      const a = key(x), b = key(y);
      return typeof a === "number" ? a - b : String(a).localeCompare(String(b));
    });
  }

  function tile(a) {
    const inState = secondsSince(a.since);
    const long = (a.state === "on_call" && inState >= LONG_CALL_S) || (a.state === "paused" && inState >= LONG_PAUSE_S);
    const reason = a.pending ? null : a.reason;
    const state = t("floor.state." + a.state) + (reason ? " · " + reason : "");
    // A pause or sign-out waiting for the agent's call to end.
    const pending = a.pending ? t("floor.pending." + a.pending) + (a.pending_reason ? " · " + a.pending_reason : "") : null;
    const today = a.today;
    return h("div", { class: "card tile state-" + a.state + (long ? " long" : ""), dataset: { agent: String(a.agent), state: a.state } },
      h("div", { class: "tile-head" }, h("b", { class: "tile-name", text: a.name }), h("span", { class: "muted small", text: a.team || "" })),
      h("div", { class: "tile-state" }, h("span", { text: state }), " ", h("span", { class: "tile-clock", text: clockText(inState) })),
      pending ? h("div", { class: "small warn-mark tile-pending", text: "→ " + pending }) : null,
      a.release_limited ? h("div", { class: "small warn-mark tile-release-limited", text: t("floor.release_limited") }) : null,
      a.call ? h("div", { class: "small tile-call" },
        t("floor.campaign") + " #" + a.call.campaign + " · " + t("floor.left") + " " + clockText(secondsUntil(a.call.lease_expires_at))) : null,
      h("div", { class: "small muted tile-today" },
        `${t("dash.attempts")} ${OC.num(today.attempts)} · ${t("dash.reached")} ${OC.num(today.reached)} · ${t("dash.conversions")} ${OC.num(today.conversions)}`
        + (today.handle_time_avg_s == null ? "" : ` · ${t("floor.aht")} ${clockText(Math.round(today.handle_time_avg_s))}`)
        + ` · ${t("floor.paused")} ${clockText(today.paused_s)}`
        + (today.releases ? ` · ${t("floor.releases")} ${OC.num(today.releases)}` : "")));
  }

  function render() {
    const team = $("#team").value;
    const list = sorted(agents.filter((a) => !team || a.team === team));
    $("#tiles").replaceChildren(...(list.length ? list.map(tile) : [h("p", { class: "muted", text: t("none") })]));
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
    refresh();
    if (stream) stream.stop();
    stream = OC.events("/v1/events", onEvent, liveState);
    setInterval(render, 1000);
    setInterval(refresh, 60000);
  });
})();
