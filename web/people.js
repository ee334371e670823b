// The console's People tab: agents and their teams (create, move, deactivate, a new token shown
// once with a copy button), role tokens (an admin's: create, list, revoke) and the pause reasons
// the desks offer. Everything through the public API; every change is audited by the server.
"use strict";
(() => {
  const { t, h, $, api, all, showError } = OC;
  const box = () => $("#error");
  const ROLES = ["lead", "supervisor", "viewer", "integration", "admin"];
  let collator = null;

  /** A secret shown once, with a copy button. */
  function secret(label, token) {
    const code = h("code", { class: "secret", text: token });
    const copy = h("button", { type: "button", class: "copy", text: t("people.copy"), onclick: async () => {
      try { await navigator.clipboard.writeText(token); OC.toast(t("people.copied")); } catch (e) {
        window.getSelection().selectAllChildren(code);
      }
    } });
    $("#people-secret").replaceChildren(h("div", { class: "card secret-card", role: "status" },
      h("b", { text: label }), " ", code, " ", copy, h("p", { class: "small muted", text: t("people.once") })));
  }

  async function loadAgents() {
    const agents = await all("/v1/agents");
    agents.sort((a, b) => collator.compare(a.name, b.name));
    $("#agent-rows").replaceChildren(...agents.map((a) => {
      const team = h("input", { value: a.team || "", "aria-label": t("people.team"), size: 10 });
      return h("tr", { dataset: { agent: String(a.id) }, class: a.active ? "" : "muted" },
        h("td", { text: a.name }),
        h("td", {}, team, " ", h("button", { type: "button", class: "move", text: t("people.move"), onclick: () =>
          change(() => api("PATCH", `/v1/agents/${a.id}`, { team: team.value.trim() || null }), "people.moved") })),
        h("td", { text: a.active ? t("people.active") : t("people.inactive") }),
        h("td", {},
          h("button", { type: "button", class: "toggle", text: a.active ? t("people.deactivate") : t("people.reactivate"), onclick: () => {
            if (a.active && !window.confirm(t("people.confirm.deactivate", { name: a.name }))) return;
            change(() => api("PATCH", `/v1/agents/${a.id}`, { active: !a.active }), "saved");
          } }), " ",
          a.active ? h("button", { type: "button", class: "new-token", text: t("people.new_token"), onclick: async () => {
            if (!window.confirm(t("people.confirm.token", { name: a.name }))) return;
            try { const r = await api("POST", `/v1/agents/${a.id}/token`); secret(a.name, r.token); } catch (e) { showError(box(), e); }
          } }) : null));
    }));
  }

  async function loadTokens() {
    let tokens;
    try { tokens = await all("/v1/tokens"); } catch (e) {
      // Only an admin keeps role tokens: a lead sees the agents and reasons alone.
      if (e.status === 403) { $("#tokens-card").hidden = true; return; }
      throw e;
    }
    $("#tokens-card").hidden = false;
    $("#token-rows").replaceChildren(...tokens.filter((k) => !k.agent).map((k) => h("tr", { dataset: { token: String(k.id) }, class: k.live ? "" : "muted" },
      h("td", { text: k.name }), h("td", { text: t("role." + k.role) }),
      h("td", { class: "hide-narrow", text: k.created_at.slice(0, 10) }),
      h("td", { text: k.expires_at ? k.expires_at.slice(0, 10) : "—" }),
      h("td", {}, k.live ? h("button", { type: "button", class: "revoke", text: t("people.revoke"), onclick: () => {
        if (!window.confirm(t("people.confirm.revoke", { name: k.name }))) return;
        change(() => api("DELETE", `/v1/tokens/${k.id}`), "people.revoked");
      } }) : t("people.revoked")))));
  }

  async function loadReasons() {
    const reasons = await all("/v1/pause-reasons");
    $("#reason-list").replaceChildren(...reasons.map((r) => h("li", { text: r.name })));
  }

  async function load() {
    collator = new Intl.Collator(OC.lang() === "zh" ? "zh-CN" : "en");
    try { await Promise.all([loadAgents(), loadTokens(), loadReasons()]); } catch (e) { showError(box(), e); }
  }

  async function change(request, done) {
    try { await request(); showError(box(), null); OC.toast(t(done)); await load(); } catch (e) { showError(box(), e); }
  }

  async function submit(form, request, after) {
    try {
      const r = await request(Object.fromEntries(new FormData(form).entries()));
      showError(box(), null, form);
      form.reset();
      if (after) after(r);
      await load();
    } catch (e) { showError(box(), e, form); }
  }

  function init() {
    $("#token-role").replaceChildren(...ROLES.map((r) => h("option", { value: r, text: t("role." + r) })));
    $("#agent-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(ev.target,
      (f) => api("POST", "/v1/agents", { name: f.name, team: f.team.trim() || null }), (r) => secret(r.name, r.token)); });
    $("#token-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(ev.target,
      (f) => api("POST", "/v1/tokens", { name: f.name, role: f.role, ...(f.expires_at ? { expires_at: f.expires_at } : {}) }),
      (r) => secret(r.name, r.token)); });
    $("#reason-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(ev.target,
      (f) => api("POST", "/v1/pause-reasons", { name: f.name })); });
    document.querySelector("[data-tab=people]").addEventListener("click", load);
    OC.onLang(() => { if (!$("#tab-people").hidden) load(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
