// Shared by the three pages: language, sign-in, API calls with problem+json errors, a
// Server-Sent Events reader that sends the token as a header, and time-zone arithmetic.
// Everything the server sends is put on the page as text, never as HTML.
"use strict";

const OC = (() => {
  const dict = window.OC_I18N;
  const langKey = "outcall.lang";
  const browserLang = ((navigator.languages && navigator.languages[0]) || navigator.language || "en").toLowerCase();
  let lang = localStorage.getItem(langKey) || (browserLang.startsWith("zh") ? "zh" : "en");
  const langListeners = [];

  function t(key, vars) {
    let s = (dict[lang] && dict[lang][key]) ?? dict.en[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  function applyI18n(root = document) {
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    const sw = document.getElementById("lang-switch");
    if (sw) sw.textContent = t("lang.other");
  }

  function setLang(next) {
    lang = next;
    localStorage.setItem(langKey, next);
    applyI18n();
    langListeners.forEach((f) => f());
  }

  /** Builds an element; children are nodes or strings (always text). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

  // ---- session ----
  const page = document.body.dataset.page;
  const tokenKey = "outcall.token." + page;
  let token = sessionStorage.getItem(tokenKey);

  /** The translation of a server `code` with its `params` (lists joined for the reader), or
   *  `fallback` (the server's English words) when the code is unknown to the pages or a
   *  placeholder has no value. */
  function codeText(code, params, fallback) {
    if (!code || dict.en["code." + code] === undefined) return fallback;
    const sep = lang === "zh" ? "、" : ", ";
    const vars = {};
    for (const [k, v] of Object.entries(params || {})) {
      vars[k] = Array.isArray(v) ? v.join(sep) : typeof v === "number" ? num(v) : v;
    }
    const s = t("code." + code, vars);
    return /\{[a-z_]+\}/.test(s) && fallback ? fallback : s;
  }

  /** A problem's text for people: its translated `code`, else its (English) detail. */
  function problemText(problem) {
    const fallback = (problem && (problem.detail || problem.title)) || t("error.generic");
    return codeText(problem && problem.code, problem && problem.params, fallback);
  }

  /** One `errors[]` item's text for people (without the field's name). */
  function fieldText(f) {
    return codeText(f.code, f.params, f.message);
  }
  class ApiError extends Error {
    constructor(status, problem) {
      super(problemText(problem));
      this.status = status;
      this.problem = problem || {};
    }
    get fields() { return this.problem.errors || []; }
  }

  async function api(method, path, body, opts = {}) {
    const headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
    let payload = body;
    if (body !== undefined && !(typeof body === "string" || body instanceof Blob)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body: payload });
    } catch (e) {
      throw new ApiError(0, { detail: t("error.network") });
    }
    if (res.status === 401 && page && token) {
      // The token was revoked or the agent deactivated: back to sign-in.
      signOut(t("signin.rejected"));
    }
    if (res.status === 204) return null;
    const type = res.headers.get("content-type") || "";
    const data = type.includes("json") ? await res.json() : await res.text();
    if (!res.ok) throw new ApiError(res.status, typeof data === "object" ? data : { detail: data });
    return data;
  }

  /** Shows an error in `box`, and marks the inputs named by the problem's fields. */
  function showError(box, err, form) {
    if (form) {
      $$(".field-error", form).forEach((e) => e.remove());
      $$("[aria-invalid]", form).forEach((e) => e.removeAttribute("aria-invalid"));
    }
    if (!err) { if (box) { box.textContent = ""; box.hidden = true; } return; }
    // Each error once: a field's next to its input, the others (and the problem's own text
    // when no field is left to say it) in the box.
    const fields = err.fields || [];
    const lines = [];
    for (const f of fields) {
      const input = form && form.querySelector(`[data-field="${CSS.escape(f.field)}"]`);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        const id = "err-" + f.field.replace(/[^A-Za-z0-9_-]/g, "_");
        input.setAttribute("aria-describedby", id);
        input.insertAdjacentElement("afterend", h("div", { class: "field-error", id, text: fieldText(f) }));
      } else {
        lines.push(f.field + ": " + fieldText(f));
      }
    }
    if (!lines.length) lines.push(err.message);
    if (box) { box.textContent = lines.join("\n"); box.hidden = false; }
  }

  /** A short note at the bottom corner for 4 s; notes that come together stack, never overlap. */
  function toast(text, kind = "ok") {
    let stack = document.getElementById("toasts");
    if (!stack) { stack = h("div", { id: "toasts", class: "toasts" }); document.body.append(stack); }
    const el = h("div", { class: kind === "bad" ? "toast bad" : "toast", role: "status", text });
    stack.append(el);
    setTimeout(() => el.remove(), 4000);
  }

  let onSignedIn = () => {};

  function signOut(message) {
    token = null;
    sessionStorage.removeItem(tokenKey);
    $("#app").hidden = true;
    $("#signin-panel").hidden = false;
    $("#signout").hidden = true;
    const box = $("#signin-error");
    if (message) { box.textContent = message; box.hidden = false; }
  }

  /** Wires the sign-in form; `probe` is a GET path this page's role may read. `beforeSignOut`,
   *  if given, runs when the sign-out button is clicked and may refuse (resolving to false). */
  function session(probe, start, beforeSignOut) {
    onSignedIn = start;
    const form = $("#signin");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      token = $("#token").value.trim();
      await tryToken(probe);
    });
    $("#signout").addEventListener("click", async () => {
      if (beforeSignOut && (await beforeSignOut()) === false) return;
      signOut();
    });
    if (token) tryToken(probe); else signOut();
  }

  async function tryToken(probe) {
    const box = $("#signin-error");
    box.hidden = true;
    try {
      await api("GET", probe);
    } catch (e) {
      token = null;
      sessionStorage.removeItem(tokenKey);
      box.textContent = e.status === 401 ? t("signin.rejected") : e.status === 403 ? t("signin.forbidden") : e.message;
      box.hidden = false;
      $("#signin-panel").hidden = false;
      $("#app").hidden = true;
      return;
    }
    sessionStorage.setItem(tokenKey, token);
    $("#token").value = "";
    $("#signin-panel").hidden = true;
    $("#app").hidden = false;
    $("#signout").hidden = false;
    onSignedIn();
  }

  // ---- Server-Sent Events with an Authorization header (EventSource cannot send one) ----
  function events(path, onEvent, onState) {
    let lastId = null;
    let stopped = false;
    let controller = null;
    async function run() {
      let delay = 1000;
      while (!stopped) {
        controller = new AbortController();
        try {
          const headers = { Authorization: "Bearer " + token, Accept: "text/event-stream" };
          if (lastId) headers["Last-Event-ID"] = lastId;
          const res = await fetch(path, { headers, signal: controller.signal });
          if (!res.ok || !res.body) throw new Error("status " + res.status);
          onState && onState(true);
          delay = 1000;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value;
            let cut;
            while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
              const block = buf.slice(0, cut);
              buf = buf.slice(cut).replace(/^\r?\n\r?\n/, "");
              let ev = { event: "message", data: [] };
              for (const line of block.split(/\r?\n/)) {
                if (line.startsWith(":")) continue;
                const i = line.indexOf(":");
                const field = i < 0 ? line : line.slice(0, i);
                const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
                if (field === "id") ev.id = val;
                else if (field === "event") ev.event = val;
                else if (field === "data") ev.data.push(val);
              }
              if (ev.id) lastId = ev.id;
              if (ev.data.length) {
                try { onEvent(ev.event, JSON.parse(ev.data.join("\n"))); } catch (_) { /* not JSON */ }
              }
            }
          }
        } catch (_) { /* reconnect below */ }
        if (stopped) break;
        onState && onState(false);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15000);
      }
    }
    run();
    return { stop() { stopped = true; controller && controller.abort(); } };
  }

  // ---- time zones ----
  /** Wall-clock parts of `date` in `zone`. */
  function partsIn(date, zone) {
    const f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    const p = Object.fromEntries(f.formatToParts(date).map((x) => [x.type, x.value]));
    return { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour, mi: +p.minute, s: +p.second };
  }

  /** Offset of `zone` from UTC at `date`, in minutes. */
  function offsetMinutes(date, zone) {
    const p = partsIn(date, zone);
    const asUtc = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
    return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
  }

  /** The instant at which `zone`'s clock shows "YYYY-MM-DDTHH:MM" (a datetime-local value). */
  function zonedToInstant(local, zone) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
    if (!m) return null;
    const naive = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    let guess = new Date(naive - offsetMinutes(new Date(naive), zone) * 60000);
    guess = new Date(naive - offsetMinutes(guess, zone) * 60000);
    return guess;
  }

  /** RFC 3339 of `date` with `zone`'s offset, e.g. 2026-11-25T19:30:00+08:00. */
  function rfc3339In(date, zone) {
    const p = partsIn(date, zone);
    const off = offsetMinutes(date, zone);
    const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
    const sign = off < 0 ? "-" : "+";
    return `${pad(p.y, 4)}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${sign}${pad(Math.trunc(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  }

  /** "YYYY-MM-DDTHH:MM" for a datetime-local input showing `date` on `zone`'s clock. */
  function localInputValue(date, zone) {
    return rfc3339In(date, zone).slice(0, 16);
  }

  function fmtTime(date, zone, withDate = true) {
    const opts = { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (withDate) Object.assign(opts, { weekday: "short", year: "numeric", month: "short", day: "numeric" });
    return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", opts).format(date);
  }

  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const pct = (x) => (x * 100).toFixed(1) + "%";
  const num = (x) => new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en-GB").format(x);

  /** The sign-in form every page shares, with this page's hint. */
  function buildSignIn() {
    $("#signin-panel").replaceChildren(
      h("h2", { dataset: { i18n: "signin.title" } }),
      h("form", { id: "signin" },
        h("p", { class: "muted", dataset: { i18n: "signin.hint." + page } }),
        h("label", { for: "token", dataset: { i18n: "signin.token" } }),
        h("input", { id: "token", type: "password", autocomplete: "off", required: true }),
        h("div", { id: "signin-error", class: "error", role: "alert", hidden: true }),
        h("button", { class: "primary", type: "submit", dataset: { i18n: "signin.submit" } })));
  }

  /** A progress bar: the share of `goal` reached, with a mark where a linear pace would be. */
  function meter(actual, goal, expected) {
    const share = (x) => (goal ? Math.min(100, (x / goal) * 100) : 0).toFixed(1) + "%";
    const el = h("div", { class: "bar-meter" }, h("span"), h("i"));
    el.firstChild.style.width = share(actual);
    el.lastChild.style.left = share(expected);
    return el;
  }

  function init() {
    buildSignIn();
    applyI18n();
    const sw = document.getElementById("lang-switch");
    if (sw) sw.addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
  }
  init();

  /** Every page of a list endpoint. */
  async function all(path) {
    const out = [];
    let after = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await api("GET", path + sep + "limit=1000" + (after ? "&after=" + encodeURIComponent(after) : ""));
      out.push(...page.items);
      after = page.next;
    } while (after);
    return out;
  }

  return {
    t, h, $, $$, api, all, ApiError, showError, codeText, fieldText, toast, session, meter, signOut, events, applyI18n,
    onLang: (f) => langListeners.push(f), lang: () => lang,
    zonedToInstant, rfc3339In, localInputValue, fmtTime, offsetMinutes, browserZone, pct, num,
  };
})();
