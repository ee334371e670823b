// Agent desk: take the next call, read the script, keep the lease alive, record the outcome.
// The desk asks for its agent's state every 1.5 s, so it learns within 2 s of a supervisor's
// pause or sign-out (pending until the call ends) and of a call released under it (whose outcome
// the server still takes while nobody else has the contact).
"use strict";
(() => {
  const { t, h, $, $$, api, showError, toast } = OC;
  // Disposition, shortcut key, needs confirmation.
  const DISPOSITIONS = [
    ["accepted", "1"], ["declined", "2"], ["no_answer", "3"], ["busy", "4"], ["voicemail", "5"],
    ["callback", "6"], ["wrong_number", ""], ["do_not_call", "", "agent.confirm.dnc"],
    ["complaint", "", "agent.confirm.complaint"],
  ];

  let current = null;      // the call being worked: the /v1/calls/next answer
  let expiresAt = 0;       // lease expiry, ms
  let leasedAt = 0;        // when the call shown was handed out, ms (the talk timer's start)
  let heartbeatTimer = null;
  let tickTimer = null;
  let outcomeKey = null;   // Idempotency-Key of the outcome being sent (kept across retries)
  let busy = false;
  let signedIn = Promise.resolve(); // the sign-in (state ready) a hand-out waits for
  let me = null;           // the agent's state: {state, reason, since, wrap_up_until}
  let outlook = null;      // after an empty next: {next_call_expected_at, reason}
  let released = false;    // the call shown was released by a supervisor: only its outcome is left
  let pollTimer = null;
  const POLL_MS = 1500;

  function setStatus(text) { $("#status").textContent = text || ""; }

  // A phone number grouped for reading aloud: a Chinese mobile as 184 8951 2321, a Chinese
  // landline with its trunk 0 and area code (010 6552 9988), others after their country code
  // in fours from the end. The tel: link keeps the E.164 form.
  function groupPhone(e164) {
    const fours = (d) => d.replace(/\B(?=(\d{4})+$)/g, " ");
    const m = /^\+86(\d+)$/.exec(e164 || "");
    if (m) {
      const n = m[1];
      if (/^1\d{10}$/.test(n)) return `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`;
      const area = /^[12]/.test(n) ? 2 : 3;
      return `0${n.slice(0, area)} ${fours(n.slice(area))}`;
    }
    const intl = /^\+(\d{1,3}?)(\d{6,})$/.exec(e164 || "");
    return intl ? `+${intl[1]} ${fours(intl[2])}` : e164 || "";
  }

  // Minutes and seconds (or hours, minutes and seconds) of a span in ms.
  function clock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const mm = String(Math.floor(s / 60) % 60).padStart(2, "0"), ss = String(s % 60).padStart(2, "0");
    return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
  }

  // ---- The agent's state: ready, paused for a reason, and the wrap-up after an outcome ----
  function renderState() {
    if (!me) return;
    const reason = me.state === "paused" ? me.reason : null;
    $("#state").textContent = t("floor.state." + me.state) + (reason ? " · " + reason : "");
    // A supervisor's pause or sign-out waiting for this call to end.
    const pending = me.state === "on_call" && me.pending
      ? t("agent.pending." + me.pending) + (me.pending_reason ? " · " + me.pending_reason : "")
      : "";
    $("#pending").textContent = pending;
    $("#pending").hidden = !pending;
    const paused = me.state === "paused" || me.state === "offline";
    $("#pause").hidden = paused || me.state === "on_call";
    $("#pause-reason").hidden = paused || me.state === "on_call";
    $("#ready").hidden = !paused;
    // The controls follow the state: "Next call" is the one thing to do only when ready (or
    // wrapping up) with no call in hand; paused, "Ready" is.
    const banner = $("#state-banner");
    banner.className = "state-banner " + me.state;
    const canTake = !current && (me.state === "ready" || me.state === "wrap_up");
    $("#next").disabled = !canTake && !current;
    $("#next").classList.toggle("primary", canTake);
    document.body.classList.toggle("on-call", !!current);
    renderWrapUp();
    renderStateTime();
  }

  // How long the agent has been in this state.
  function renderStateTime() {
    const since = me && me.since ? Date.parse(me.since) : NaN;
    $("#state-time").textContent = Number.isNaN(since) ? "" : clock(Date.now() - since);
  }

  function renderWrapUp() {
    const el = $("#wrap-up");
    if (!me || me.state !== "wrap_up" || !me.wrap_up_until) { el.textContent = ""; return; }
    const left = Math.max(0, Math.round((new Date(me.wrap_up_until).getTime() - Date.now()) / 1000));
    if (left === 0) { me = Object.assign({}, me, { state: "ready", wrap_up_until: null }); renderState(); return; }
    el.textContent = t("agent.wrap_up.left", { time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` });
  }

  async function loadState() {
    try { me = await api("GET", "/v1/agents/me/state"); renderState(); } catch (e) { /* shown on the next action */ }
  }

  // Every 1.5 s while signed in: the state (a sign of life too), and whether the call shown is
  // still held.
  async function poll() {
    if ($("#app").hidden) return;
    await loadState();
    if (current && !released && me && me.state !== "on_call") await callGone();
  }

  // The agent is no longer on the call shown: ask the call how it ended (a state read before a
  // hand-out may be stale, and then the call is still ours).
  async function callGone() {
    const id = current.call.id;
    try {
      const r = await api("POST", `/v1/calls/${id}/heartbeat`);
      expiresAt = Date.parse(r.lease_expires_at);
    } catch (e) {
      if (!current || current.call.id !== id) return;
      if (e.problem.code === "call_released") showReleased();
      else if (e.status === 409 || e.status === 404) leaseLost();
    }
  }

  // Released by a supervisor while the agent talked: the outcome is still taken while nobody
  // else has the contact, so the form stays, without a lease to count down or hand back.
  function showReleased() {
    released = true;
    clearTimeout(heartbeatTimer);
    // The tick goes on for the talk timer; it shows no lease now.
    $("#released-note").hidden = false;
    $("#release").hidden = true;
    $("#countdown").hidden = true;
    setStatus(t("code.call_released"));
  }

  async function setState(body) {
    try {
      me = await api("POST", "/v1/agents/me/state", body);
      showError($("#error"), null);
      if (me.state === "paused" || me.state === "offline") clearCall();
      renderState();
    } catch (e) {
      showError($("#error"), e);
    }
  }

  // The agent's own upcoming callbacks, each at the contact's local time.
  async function loadCallbacks() {
    try {
      const page = await api("GET", "/v1/agents/me/callbacks?limit=20");
      $("#my-callbacks-box").hidden = page.items.length === 0;
      // By time, the soonest (and any overdue) first; today's marked.
      const items = page.items.slice().sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
      const today = OC.rfc3339In(new Date(), OC.browserZone).slice(0, 10);
      $("#my-callbacks").replaceChildren(...items.map((c) => {
        const due = OC.rfc3339In(new Date(c.at), OC.browserZone).slice(0, 10) <= today;
        return h("li", { class: "small" },
          h("b", { class: due ? "cb-due" : "", text: c.local_time }), ` (${c.timezone}) · ${c.contact_name || "#" + c.contact} · ${c.campaign_name}`);
      }));
    } catch (e) { /* secondary: the desk keeps working */ }
  }

  async function loadReasons() {
    try {
      const page = await api("GET", "/v1/pause-reasons?limit=1000");
      $("#pause-reason").replaceChildren(...page.items.map((r) => h("option", { value: r.name, text: r.name })));
      $("#pause").disabled = page.items.length === 0;
    } catch (e) { /* pausing waits for the list */ }
  }

  async function loadProgress() {
    try {
      const me = await api("GET", "/v1/agents/me/stats");
      $("#p-attempts").textContent = OC.num(me.attempts);
      $("#p-reached").textContent = OC.num(me.reached);
      $("#p-conversions").textContent = OC.num(me.conversions);
      // Of this month's accepted, how many billing activated.
      const m = me.month;
      $("#p-activation-rate").textContent = m && m.activation_rate != null ? OC.pct(m.activation_rate) : "–";
      const box = $("#p-targets");
      box.replaceChildren(...me.targets.map((tg) => {
        // Whose target it is: the agent's own, its team's, or a campaign's.
        const whose = tg.scope === "agent" ? t("agent.target.mine")
          : tg.scope === "team" ? t("agent.target.team", { team: tg.scope_id })
          : t("agent.target.campaign", { campaign: tg.scope_id });
        return h("div", { class: "target" },
          h("div", { class: "small" }, h("b", { text: whose }), ` · ${t("metric." + tg.metric)} ${tg.period}: ${tg.actual} / ${tg.goal} `,
            h("span", { class: tg.on_track ? "ok" : "behind", text: tg.on_track ? "✓" : "−" + tg.gap })),
          OC.meter(tg.actual, tg.goal, tg.expected_by_now));
      }));
    } catch (e) { /* progress is secondary; the desk keeps working */ }
  }

  async function next() {
    if (busy) return;
    busy = true;
    showError($("#error"), null);
    outlook = null;
    setStatus(t("loading"));
    try {
      await signedIn;
      const call = await api("POST", "/v1/calls/next");
      loadState();
      if (!call) {
        clearCall();
        await showOutlook();
      } else {
        show(call);
        setStatus("");
      }
    } catch (e) {
      setStatus("");
      showError($("#error"), e);
    } finally {
      busy = false;
    }
  }

  // Nothing is due: say when the next call is expected and why not sooner, in the agent's zone.
  async function showOutlook() {
    try {
      outlook = await api("GET", "/v1/agents/me/outlook");
    } catch (e) {
      outlook = null;
    }
    renderOutlook();
  }

  function renderOutlook() {
    if (!outlook) { setStatus(t("agent.nothing")); return; }
    const reason = outlook.reason ? t("reason." + outlook.reason) : null;
    if (!outlook.next_call_expected_at) {
      setStatus(reason ? t("agent.outlook.never", { reason }) : t("agent.nothing"));
      return;
    }
    const at = new Date(outlook.next_call_expected_at);
    const day = (d) => OC.rfc3339In(d, OC.browserZone).slice(0, 10);
    const time = OC.fmtTime(at, OC.browserZone, day(at) !== day(new Date()));
    setStatus(reason ? t("agent.outlook.at", { time, reason }) : t("agent.outlook.at_plain", { time }));
  }

  function show(call) {
    const sameCall = current && current.call.id === call.call.id;
    current = call;
    if (!sameCall) {
      outcomeKey = null;
      $("#notes").value = "";
      $("#callback-panel").hidden = true;
    }
    const c = call.contact;
    const phone = $("#phone");
    phone.textContent = groupPhone(c.phone);
    phone.href = "tel:" + c.phone;
    if (!sameCall) leasedAt = Date.parse(call.call.leased_at) || Date.now();
    $("#name").textContent = c.name || "";
    // The campaign's label for each key (issue 26); a key without one shows as itself.
    const labels = call.campaign.attribute_labels || {};
    $("#attributes").replaceChildren(...Object.entries(c.attributes || {}).flatMap(([k, v]) =>
      [h("dt", { text: labels[k] || k }), h("dd", { text: typeof v === "string" ? v : JSON.stringify(v) })]));
    $("#campaign").textContent = call.campaign.name;
    $("#offer").textContent = `${call.campaign.offer.name} (${call.campaign.offer.code})`;
    $("#attempt").textContent = t("agent.attempt", { n: call.call.attempt });
    $("#script").textContent = call.script.text;
    if (!sameCall) OC.survey.renderForm($("#survey"), $("#survey-card"), call.script.questions || []);
    renderHistory();
    renderLocalTime();
    $("#call").hidden = false;
    expiresAt = Date.parse(call.call.lease_expires_at);
    scheduleHeartbeat();
    tick();
    renderState();
  }

  function renderHistory() {
    if (!current) return;
    const items = current.history || [];
    $("#history").replaceChildren(...(items.length ? items.map((e) => {
      const what = e.disposition ? t("d." + e.disposition) : t("e." + e.event);
      return h("li", {},
        h("b", { text: what }), " · ",
        h("span", { class: "muted", text: OC.fmtTime(new Date(e.at), OC.browserZone) }),
        e.agent ? " · " + e.agent : "", e.campaign_name ? " · " + e.campaign_name : "",
        e.notes ? h("div", { class: "small", text: e.notes }) : null);
    }) : [h("li", { class: "muted", text: t("agent.history.empty") })]));
  }

  function renderLocalTime() {
    if (!current) return;
    const zone = current.contact.timezone;
    $("#local-time").textContent = t("agent.localtime", { time: OC.fmtTime(new Date(), zone, false), zone });
    $("#callback-at-label").textContent = t("agent.callback.at", { zone });
    renderCallbackEquivalent();
  }

  function clearCall() {
    current = null;
    released = false;
    $("#released-note").hidden = true;
    $("#release").hidden = false;
    clearTimeout(heartbeatTimer);
    clearInterval(tickTimer);
    $("#call").hidden = true;
    $("#countdown").hidden = true;
    renderState();
  }

  // ---- lease: countdown and automatic heartbeats ----
  function scheduleHeartbeat() {
    clearTimeout(heartbeatTimer);
    const left = expiresAt - Date.now();
    // Beat at a third of what is left, so two misses still leave time.
    const wait = Math.max(1000, Math.min(left / 3, 60000));
    heartbeatTimer = setTimeout(heartbeat, wait);
    clearInterval(tickTimer);
    tickTimer = setInterval(tick, 1000);
  }

  async function heartbeat() {
    if (!current) return;
    try {
      const r = await api("POST", `/v1/calls/${current.call.id}/heartbeat`);
      expiresAt = Date.parse(r.lease_expires_at);
    } catch (e) {
      if (e.problem.code === "call_released") { showReleased(); return; }
      if (e.status === 409 || e.status === 404) { leaseLost(); return; }
    }
    scheduleHeartbeat();
  }

  // Each second on a call: the talk timer, and the lease only as a quiet warning in its last
  // two minutes (heartbeats keep it alive while the desk is open).
  function tick() {
    if (current) $("#talk").textContent = clock(Date.now() - leasedAt);
    if (released) return;
    const el = $("#countdown");
    const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    el.hidden = left > 120;
    el.textContent = t("agent.lease.warning", { time: clock(left * 1000) });
    if (left === 0 && current) leaseLost();
  }

  function leaseLost() {
    clearCall();
    setStatus(t("agent.lease.expired"));
  }

  // ---- outcomes ----
  function renderDispositions() {
    $("#dispositions").replaceChildren(...DISPOSITIONS.map(([d, key]) =>
      h("button", { type: "button", class: d, dataset: { disposition: d }, onclick: () => choose(d) },
        t("d." + d), key ? h("kbd", { text: key }) : null)));
  }

  function choose(d) {
    if (!current) return;
    if (d === "callback") {
      $("#callback-panel").hidden = false;
      const input = $("#callback-at");
      if (!input.value) {
        // Suggest tomorrow at this hour, on the contact's clock.
        input.value = OC.localInputValue(new Date(Date.now() + 86400000), current.contact.timezone);
      }
      renderCallbackEquivalent();
      input.focus();
      return;
    }
    const confirmKey = (DISPOSITIONS.find((x) => x[0] === d) || [])[2];
    if (confirmKey && !window.confirm(t(confirmKey))) return;
    record({ disposition: d });
  }

  function renderCallbackEquivalent() {
    if (!current) return;
    const at = OC.zonedToInstant($("#callback-at").value, current.contact.timezone);
    $("#callback-yours").textContent = at
      ? t("agent.callback.yours", { time: OC.fmtTime(at, OC.browserZone), zone: OC.browserZone })
      : "";
  }

  function saveCallback() {
    const at = OC.zonedToInstant($("#callback-at").value, current.contact.timezone);
    if (!at) { showError($("#error"), new OC.ApiError(422, { detail: t("agent.callback.missing") })); return; }
    record({
      disposition: "callback",
      callback_at: OC.rfc3339In(at, current.contact.timezone),
      callback_scope: $("#callback-scope").value,
    });
  }

  async function record(body) {
    if (!current || busy) return;
    busy = true;
    const notes = $("#notes").value.trim();
    if (notes) body.notes = notes;
    const answers = OC.survey.answersOf($("#survey"));
    if (Object.keys(answers).length) body.answers = answers;
    // One key per attempt at recording: a retry after a network error cannot record twice.
    const key = JSON.stringify(body);
    if (!outcomeKey || outcomeKey.body !== key) outcomeKey = { body: key, id: crypto.randomUUID() };
    const form = $("#call");
    try {
      await api("POST", `/v1/calls/${current.call.id}/outcome`, body, { headers: { "Idempotency-Key": outcomeKey.id } });
      showError($("#error"), null, form);
      clearCall();
      loadState();
      loadCallbacks();
      setStatus(t("agent.recorded", { d: t("d." + body.disposition) }));
      toast(t("agent.recorded", { d: t("d." + body.disposition) }));
      loadProgress();
    } catch (e) {
      showError($("#error"), e, form);
      if (e.status === 409) clearCall();
    } finally {
      busy = false;
    }
  }

  async function release() {
    if (!current) return;
    try {
      await api("POST", `/v1/calls/${current.call.id}/release`);
      clearCall();
      setStatus(t("e.released"));
    } catch (e) { showError($("#error"), e); }
  }

  // "Sign out" signs the agent out on the floor too (offline), after asking when a call is in
  // hand (the agent's own sign-out hands a held call back), then forgets the token.
  async function beforeSignOut() {
    if (current && !window.confirm(t("agent.signout.confirm"))) return false;
    try {
      me = await api("POST", "/v1/agents/me/state", { state: "offline" });
    } catch (e) {
      if (e.status !== 401) { showError($("#error"), e); return false; }
    }
    clearCall();
    return true;
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select"].includes(tag)) return;
    if ($("#app").hidden) return;
    if (ev.key === "n" || ev.key === "N") { ev.preventDefault(); next(); return; }
    const hit = DISPOSITIONS.find((x) => x[1] && x[1] === ev.key);
    if (hit && current) { ev.preventDefault(); choose(hit[0]); }
  }

  $("#next").addEventListener("click", next);
  $("#release").addEventListener("click", release);
  $("#pause").addEventListener("click", () => setState({ state: "paused", reason: $("#pause-reason").value }));
  $("#ready").addEventListener("click", () => setState({ state: "ready" }));
  $("#callback-save").addEventListener("click", saveCallback);
  $("#callback-at").addEventListener("input", renderCallbackEquivalent);
  document.addEventListener("keydown", onKey);
  OC.onLang(() => { if (outlook) renderOutlook(); renderState(); renderDispositions(); renderHistory(); renderLocalTime(); tick(); loadProgress(); });
  renderDispositions();
  OC.session("/v1/agents/me/stats", () => {
    // Signing in makes a signed-out agent ready: a new or signed-out agent gets no calls until
    // then. Any other state stays as it is (a reload must not undo a supervisor's pause, and an
    // agent still on a call stays on it).
    signedIn = api("GET", "/v1/agents/me/state")
      .then((s) => (s.state === "offline" ? api("POST", "/v1/agents/me/state", { state: "ready" }) : s))
      .then((s) => { me = s; renderState(); return s; })
      .catch((e) => showError($("#error"), e));
    loadReasons();
    loadCallbacks();
    setInterval(() => { renderWrapUp(); renderStateTime(); }, 1000);
    // On a phone the side panel starts folded: the call comes first.
    if (window.matchMedia("(max-width: 760px)").matches) $("#side").open = false;
    // A reload while on a call shows that call again (next gives a held call back as it is).
    signedIn.then((s) => { if (s && s.state === "on_call") next(); });
    loadProgress();
    setInterval(loadProgress, 60000);
    setInterval(renderLocalTime, 30000);
    // A sign of life while waiting or paused (a held call heart-beats on its own), so an idle
    // sign-out (OUTCALL_AGENT_IDLE) spares an open desk; it shows a supervisor's change and a
    // call released under the agent within 2 s.
    if (!pollTimer) pollTimer = setInterval(poll, POLL_MS);
  }, beforeSignOut);
})();
