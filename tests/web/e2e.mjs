// Browser scenarios for the outcall pages, in headless Chromium driven by Playwright.
// Called by tests/api/web.rs, which starts the server, prepares data over HTTP, and passes
// what the scenario needs as JSON in OUTCALL_E2E. Exit code 0 means every check passed.
import { chromium } from "playwright-core";
import { readdirSync } from "node:fs";
import { cfg, shots, executablePath, TIMEOUT, check, shot, signIn, OCpct, aboveTheFold, accessible, text, injectableEvents } from "./lib.mjs";

const scenarios = {
  // An agent signs in, takes a call, sees contact, script and history, records outcomes by
  // button and by keyboard, and the page fits a phone's width.
  async agent(browser) {
    const page = await browser.newPage({ locale: "en-US", viewport: { width: 1440, height: 900 } });
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#state-banner.ready").waitFor({ timeout: TIMEOUT });
    check(await page.locator("#next.primary").isVisible(), "ready with no call, Next call is the primary action");
    await page.locator("#next").click();
    await page.locator("#call").waitFor({ state: "visible" });
    const phone = page.locator("#phone");
    check((await phone.getAttribute("href")) === "tel:" + cfg.first.phone, "the phone is a tel: link to the contact");
    const grouped = cfg.first.phone.replace(/^\+86(\d{3})(\d{4})(\d{4})$/, "$1 $2 $3");
    check((await phone.textContent()) === grouped, "the phone is grouped for reading: " + (await phone.textContent()));
    check((await text(page, "#name")) === cfg.first.name, "the contact's name is shown");
    check((await text(page, "#script")) === cfg.first.script, "the script is rendered with the contact's fields: " + (await text(page, "#script")));
    check((await text(page, "#attributes")).includes(cfg.first.attribute), "attributes are listed");
    check((await text(page, "#history")).includes("First call"), "an empty history says so");
    // A talk timer, not the lease, counts; the state banner says on a call, with its time.
    await page.waitForFunction(() => /^\d+:\d\d$/.test(document.querySelector("#talk").textContent));
    check(await page.locator("#countdown").isHidden(), "the lease is not shown while far from its end");
    await page.locator("#state-banner.on_call").waitFor({ timeout: TIMEOUT });
    check((await text(page, "#state")).includes("On a call"), "the banner names the state");
    check(/\d+:\d\d/.test(await text(page, "#state-time")), "the banner shows the time in the state");
    check(!(await page.locator("#next").evaluate((b) => b.classList.contains("primary"))), "on a call, Next call is not the primary action");
    await aboveTheFold(page, 900);
    await accessible(page, "the desk on a call");
    await shot(page, "agent");
    // A phone's first screen holds the call too.
    await page.setViewportSize({ width: 390, height: 844 });
    await aboveTheFold(page, 844);
    await shot(page, "agent-phone");
    await page.setViewportSize({ width: 1440, height: 900 });
    // A reload while on the call shows the same call again, without pressing N.
    await page.reload();
    await page.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
    check((await text(page, "#phone")).replace(/ /g, "") === cfg.first.phone.replace("+86", ""), "the held call is back after a reload");
    await page.locator("#notes").fill(cfg.notes);
    await page.locator("button[data-disposition=accepted]").click();
    await page.locator("#status", { hasText: "Recorded: Accepted" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#p-conversions", { hasText: "1" }).waitFor({ timeout: TIMEOUT });

    // The second call, recorded with the keyboard: 3 = no answer.
    await page.keyboard.press("n");
    await page.locator("#call").waitFor({ state: "visible" });
    check((await text(page, "#phone")).replace(/ /g, "") === cfg.second.phone.replace("+86", ""), "the second call is the second contact");
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("3");
    await page.locator("#status", { hasText: "Recorded: No answer" }).waitFor({ timeout: TIMEOUT });

    // Nothing more is due now: the desk says when the next call is expected, and why not sooner.
    await page.locator("#next").click();
    await page.locator("#status", { hasText: "Next call around" }).waitFor({ timeout: TIMEOUT });
    // The phone's gap (an hour) comes before the retry delay in the vocabulary, as in the contact's own explanation.
    check((await text(page, "#status")).includes("called too recently"), "the phone's gap is the reason: " + (await text(page, "#status")));

    // A narrow screen: nothing wider than the viewport.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, "the desk fits a 390 px wide screen (overflow " + overflow + " px)");
  },

  // A callback picked in the contact's local time is sent with the contact's offset.
  async callback(browser) {
    const page = await browser.newPage({ locale: "en-US", timezoneId: "Europe/London" });
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#next").click();
    await page.locator("#call").waitFor({ state: "visible" });
    await page.locator("button[data-disposition=callback]").click();
    await page.locator("#callback-at").fill(cfg.callback_local);
    check((await text(page, "#callback-yours")).includes(cfg.callback_agent_time), "the agent's local equivalent is shown: " + (await text(page, "#callback-yours")));
    await page.locator("#callback-save").click();
    await page.locator("#status", { hasText: "Recorded: Callback" }).waitFor({ timeout: TIMEOUT });
    // The desk lists it among the agent's own callbacks, at the contact's local time.
    await page.locator("#my-callbacks li", { hasText: cfg.callback_local.replace("T", " ") }).waitFor({ timeout: TIMEOUT });
    check((await text(page, "#my-callbacks")).includes("Asia/Shanghai"), "in the contact's zone");
  },

  // A lead uploads a CSV and sees the report with its invalid rows.
  async import(browser) {
    const page = await browser.newPage({ locale: "en-US" });
    await signIn(page, "/app/lead", cfg.lead_token);
    await page.locator("[data-tab=import]").click();
    await page.locator(`#import-campaign option[value="${cfg.campaign}"]`).waitFor({ state: "attached" });
    await page.locator("#import-campaign").selectOption(String(cfg.campaign));
    await page.locator("#import-file").setInputFiles({ name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(cfg.csv) });
    await page.locator("#import-form button[type=submit]").click();
    // The preview first: each column with what it is read as, the first rows, then the import.
    await page.locator("#import-preview").waitFor({ state: "visible", timeout: TIMEOUT });
    check((await page.locator("#preview-map select").first().inputValue()) === "phone", "the phone column is read as the phone");
    check((await page.locator("#preview-rows tr").count()) === cfg.report.total, "the first rows are shown");
    // The campaign's script reads attributes.plan, which this file does not carry: said before the import.
    const missing = page.locator("#preview-missing");
    check((await missing.isVisible()) && (await missing.textContent()).includes("plan"), "the preview warns that the script reads plan, which the file lacks");
    await page.locator("#import-confirm").click();
    await page.locator("#import-report").waitFor({ state: "visible", timeout: TIMEOUT });
    check((await text(page, "#r-total")) === String(cfg.report.total), "total rows");
    check((await text(page, "#r-accepted")) === String(cfg.report.accepted), "accepted rows");
    check((await text(page, "#r-duplicates")) === String(cfg.report.duplicates), "duplicates");
    check((await text(page, "#r-invalid")) === String(cfg.report.invalid.length), "invalid count");
    const rows = await page.locator("#invalid-rows tr").allTextContents();
    check(rows.length === cfg.report.invalid.length, "one line per invalid row");
    // Each invalid row with its value and its reason translated from its code.
    cfg.report.invalid.forEach((r, i) => check(rows[i].startsWith(String(r.row)) && rows[i].includes(r.value) && !rows[i].includes(r.code), `invalid row ${r.row} shows its value and translated reason: ${rows[i]}`));
    check(await page.locator("#invalid-download").isVisible(), "the invalid rows can be downloaded");
    await shot(page, "lead-import");
  },

  // A lead creates a campaign with a recurrence, reads the preview, sees a field error, starts it.
  async campaign(browser) {
    const page = await browser.newPage({ locale: "en-US" });
    await signIn(page, "/app/lead", cfg.lead_token);
    await page.locator("#new-campaign").click();
    await page.locator("#campaign-form").waitFor({ state: "visible" });
    const form = page.locator("#campaign-form");
    await form.locator("[name=name]").fill(cfg.name);
    await form.locator("[name=offer]").selectOption(cfg.offer);
    await form.locator("[name=priority]").fill("0");
    await form.locator("[name=recurrence]").fill("0 0 9 1 * *");
    await page.locator("#preview li").nth(4).waitFor({ timeout: TIMEOUT });
    const first = await page.locator("#preview li").first().textContent();
    check(first.includes("09:00") && first.includes("Asia/Shanghai"), "the preview shows 09:00 in the campaign's zone: " + first);
    await shot(page, "lead-form");
    await page.locator("#campaign-save").click();
    await page.locator("[data-field=priority] + .field-error").waitFor({ timeout: TIMEOUT });
    await form.locator("[name=priority]").fill("70");
    await page.locator("#campaign-save").click();
    await page.locator("#campaign-form").waitFor({ state: "hidden", timeout: TIMEOUT });
    const row = page.locator("#campaign-rows tr", { hasText: cfg.name });
    await row.locator("[data-status=draft]").waitFor();
    await shot(page, "lead");
    await row.locator("[data-action=start]").click();
    await row.locator("[data-status=active]").waitFor({ timeout: TIMEOUT });
  },

  // The rest of the console: the do-not-call list, targets and follow-ups.
  async console(browser) {
    const page = await browser.newPage({ locale: "en-US" });
    await signIn(page, "/app/lead", cfg.lead_token);
    await page.locator("[data-tab=dnc]").click();
    await page.locator("#dnc-phone").fill("138-0013-8000");
    await page.locator("#dnc-reason").fill(cfg.reason);
    await page.locator("#dnc-form button[type=submit]").click();
    await page.locator("#dnc-result", { hasText: "+8613800138000 added" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#dnc-lookup").click();
    await page.locator("#dnc-result", { hasText: "is on the list" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#dnc-phone").fill("12345");
    await page.locator("#dnc-form button[type=submit]").click();
    await page.locator("#dnc-phone[aria-invalid=true] + .field-error").waitFor({ timeout: TIMEOUT });
    // Said once, next to the field, in the page's words (code phone_invalid), not again above.
    check((await text(page, "#dnc-phone + .field-error")) === "Not a valid phone number.", "the field error is the translated code");
    check(!(await page.locator("#error:visible", { hasText: "phone" }).count()), "the field error is not repeated in the box");
    // The same in Chinese: the page translates the code, it does not show the server's English.
    await page.locator("#lang-switch").click();
    await page.locator("#dnc-form button[type=submit]").click();
    await page.locator("#dnc-phone + .field-error", { hasText: "不是有效的电话号码。" }).waitFor({ timeout: TIMEOUT });
    check((await page.locator(".field-error").count()) === 1, "one error, shown once");
    await page.locator("#lang-switch").click();
    await page.locator("#dnc-phone").fill("13900139000");
    await page.locator("#dnc-form button[type=submit]").click();
    await page.locator("#dnc-result", { hasText: "+8613900139000 added" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#dnc-remove").click();
    await page.locator("#dnc-result", { hasText: "removed" }).waitFor({ timeout: TIMEOUT });
    // The list itself, and all of it as a CSV download.
    await page.locator("[data-tab=targets]").click();
    await page.locator("[data-tab=dnc]").click();
    await page.locator("#dnc-rows tr", { hasText: "+8613800138000" }).waitFor({ timeout: TIMEOUT });
    check(!(await text(page, "#dnc-rows")).includes("+8613900139000"), "a removed phone is not listed");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#dnc-export").click()]);
    const { readFileSync } = await import("node:fs");
    const exported = readFileSync(await download.path(), "utf8");
    check(exported.startsWith("phone,reason,added_by,added_at") && exported.includes("+8613800138000"), "the export holds the list: " + exported);

    await page.locator("[data-tab=targets]").click();
    const tf = page.locator("#target-form");
    await tf.locator("[name=scope]").selectOption("campaign");
    // Chosen by name, not typed as an id.
    await tf.locator("[name=scope_id]").selectOption({ label: cfg.campaign_name });
    await tf.locator("[name=period]").fill(cfg.period);
    await tf.locator("[name=goal]").fill("20");
    await tf.locator("button[type=submit]").click();
    await page.locator("#target-rows tr", { hasText: "0 / 20" }).waitFor({ timeout: TIMEOUT });
    check((await text(page, "#target-rows")).includes(cfg.campaign_name), "the target names its campaign");

    await page.locator("[data-tab=followups]").click();
    const row = page.locator("#followup-rows tr", { hasText: cfg.complaint_notes });
    await row.waitFor({ timeout: TIMEOUT });
    const fu = await row.textContent();
    check(fu.includes("张伟") && fu.includes("agent") && fu.includes(cfg.campaign_name) && fu.includes("opened 0 d ago"),
      "a follow-up names the customer, the agent, the campaign and its age: " + fu);
    await row.locator("input").fill(cfg.resolution);
    await row.locator("button").click();
    await page.locator("#followup-rows", { hasText: "No open follow-ups" }).waitFor({ timeout: TIMEOUT });

    // Offers and scripts are listed; a script is edited into its next version, and the first
    // version can still be read.
    await page.locator("[data-tab=catalog]").click();
    const script = page.locator("#script-rows tr").first();
    await script.waitFor({ timeout: TIMEOUT });
    check((await text(page, "#offer-rows")).length > 0, "the offers are listed");
    await script.locator(".edit-script").click();
    const form = page.locator("#script-edit");
    await form.locator("[name=body]").fill("您好{{ name }}，5G 升级只需 {{ attributes.plan }}");
    await form.locator("button[type=submit]").click();
    await page.locator("#script-rows tr", { hasText: "v2" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#script-rows tr", { hasText: "v2" }).locator(".edit-script").click();
    await page.locator("#script-versions").selectOption("1");
    await page.locator("#script-version-body", { hasText: "{{ attributes.plan }}" }).waitFor({ timeout: TIMEOUT });
    check(!(await text(page, "#script-version-body")).includes("5G"), "version 1 is read back as it was");
    await accessible(page, "the console's Offers & scripts tab");
    await page.locator("[data-tab=campaigns]").click();
    await page.locator("#campaign-rows tr").first().waitFor({ timeout: TIMEOUT });
    await accessible(page, "the console's campaigns");
  },

  // The dashboard moves when another agent records an outcome, without a reload; a `reset` on
  // the stream makes it read its numbers again.
  async dashboard(browser) {
    const page = await browser.newPage({ locale: "en-US", viewport: { width: 1600, height: 1000 } });
    await page.addInitScript(injectableEvents);
    await signIn(page, "/app/dashboard", cfg.viewer_token);
    await page.locator("#live-text", { hasText: "live" }).waitFor({ timeout: TIMEOUT });
    await page.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"]`).waitFor({ timeout: TIMEOUT });
    const before = Number((await text(page, "#k-conversions")).replace(/\D/g, ""));
    // Another agent, through the API.
    const auth = { Authorization: "Bearer " + cfg.agent_token, "Content-Type": "application/json" };
    const next = await (await fetch(cfg.base + "/v1/calls/next", { method: "POST", headers: auth })).json();
    const res = await fetch(`${cfg.base}/v1/calls/${next.call.id}/outcome`, { method: "POST", headers: auth, body: JSON.stringify({ disposition: "accepted" }) });
    check(res.status === 200, "the other agent's outcome is recorded");
    await page.locator("#k-conversions", { hasText: String(before + 1) }).waitFor({ timeout: TIMEOUT });
    await page.locator("#feed li", { hasText: "Accepted" }).waitFor({ timeout: TIMEOUT });
    await page.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"] td[data-conversions]`, { hasText: String(before + 1) }).waitFor({ timeout: TIMEOUT });
    await page.locator("#leader-rows tr", { hasText: cfg.agent_name }).waitFor({ timeout: TIMEOUT });
    await page.locator("#chart canvas").waitFor({ timeout: TIMEOUT });
    await shot(page, "dashboard");
    await accessible(page, "the wallboard");

    // A reset: the page reads its numbers again. First wait until no refresh is pending (the
    // page refreshes at most every 5 s), then spoil a counter the refresh rewrites.
    let lastRead = Date.now();
    page.on("request", (r) => { if (r.url().includes("/v1/stats/offers")) lastRead = Date.now(); });
    while (Date.now() - lastRead < 6000) await page.waitForTimeout(250);
    const conversions = await text(page, "#k-conversions");
    await page.evaluate(() => { document.querySelector("#k-conversions").textContent = "spoilt"; });
    await page.waitForTimeout(500);
    check((await text(page, "#k-conversions")) === "spoilt", "nothing refreshes the page on its own");
    await page.evaluate(() => window.__events.at(-1)('id: 1\nevent: reset\ndata: {"reason":"too_many"}\n\n'));
    await page.locator("#k-conversions", { hasText: conversions }).waitFor({ timeout: TIMEOUT });

    // The wall, as a supervisor sees it: it fits 1440×900 and 1920×1080 without scrolling, in
    // the board's language (no "3am", no "12/7/26"), each figure with its period, agents by
    // state, and per campaign what is callable now and the day its list runs out.
    for (const [width, height, locale, name] of [[1440, 900, "zh-CN", "dashboard-zh"], [1920, 1080, "zh-CN", "dashboard-zh-1920"], [1440, 900, "en-US", "dashboard-1440"]]) {
      const wall = await browser.newPage({ locale, viewport: { width, height } });
      await signIn(wall, "/app/dashboard", cfg.supervisor_token);
      const row = wall.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"]`);
      await row.locator("td[data-runs-out]").waitFor({ timeout: TIMEOUT });
      await wall.locator("#state-counts li").first().waitFor({ timeout: TIMEOUT });
      await wall.locator("#chart canvas").waitFor({ timeout: TIMEOUT });
      await wall.waitForTimeout(500);
      await shot(wall, name);
      const fits = await wall.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1 && document.documentElement.scrollWidth <= innerWidth + 1);
      check(fits, `the wall fits ${width}×${height} without scrolling`);
      check(!(await wall.locator(".u-legend").count()), "no hover legend on the wall");
      const periods = await wall.locator(".kpi i").allTextContents();
      const zh = locale === "zh-CN";
      check(periods.includes(zh ? "今日" : "today") && periods.includes(zh ? "本月" : "this month"), "each figure says its period: " + periods);
      const runsOut = await text(wall, `#campaign-rows tr[data-campaign="${cfg.campaign}"] td[data-runs-out]`);
      check(zh ? /月.*日/.test(runsOut) || runsOut === "超出预测范围" : !/\d+\/\d+\/\d+/.test(runsOut), "the day the list runs out is in the board's language: " + runsOut);
      const callable = await text(wall, `#campaign-rows tr[data-campaign="${cfg.campaign}"] td[data-callable]`);
      check(/^\d+$/.test(callable), "callable now is shown: " + callable);
      const states = await text(wall, "#state-counts");
      check(zh ? states.includes("就绪") : states.includes("Ready"), "agents by state in the board's language: " + states);
      await wall.close();
    }
  },

  // The desk's state switch: a pause for a reason from the leads' list holds calls back (the
  // problem says why), ready takes them again, and an outcome starts a wrap-up timer.
  async desk(browser) {
    const page = await browser.newPage({ locale: "en-US", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#state", { hasText: "Ready" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#pause-reason option", { hasText: cfg.reason }).waitFor({ state: "attached", timeout: TIMEOUT });
    await page.locator("#pause-reason").selectOption(cfg.reason);
    await page.locator("#pause").click();
    await page.locator("#state", { hasText: "Paused · " + cfg.reason }).waitFor({ timeout: TIMEOUT });
    // The controls follow the state: paused, Next call cannot be pressed and Ready is the way on.
    check(await page.locator("#next").isDisabled(), "paused, Next call is disabled");
    await page.locator("#state-banner.paused").waitFor({ timeout: TIMEOUT });
    await page.locator("#ready").click();
    await page.locator("#state", { hasText: "Ready" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#next").click();
    await page.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
    await page.locator("#state", { hasText: "On a call" }).waitFor({ timeout: TIMEOUT });
    await page.locator("button[data-disposition=declined]").click();
    await page.locator("#state", { hasText: "Wrapping up" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#wrap-up", { hasText: "left" }).waitFor({ timeout: TIMEOUT });
    await shot(page, "agent-wrap-up");
  },

  // A desk opened while a supervisor has paused its agent signs nobody in: the pause stays,
  // with its reason, and the ready button offers the way back.
  // A Chinese desk on a call learns within 2 s that its supervisor paused it (pending until the
  // call ends) and then released the call; it still records the outcome, is paused afterwards,
  // and its "sign out", confirmed over a held call, signs the agent out on the floor.
  async desk_pending(browser) {
    const page = await browser.newPage({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#state", { hasText: "就绪" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#next").click();
    await page.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
    const sup = { Authorization: "Bearer " + cfg.supervisor_token, "Content-Type": "application/json" };
    const paused = await fetch(`${cfg.base}/v1/agents/${cfg.agent}/state`, {
      method: "POST", headers: sup, body: JSON.stringify({ state: "paused", reason: cfg.reason }) });
    check(paused.status === 202, "a supervisor's pause of an agent on a call is pending: " + paused.status);
    let t0 = Date.now();
    await page.locator("#pending", { hasText: "主管已安排暂停，本通电话结束后生效" }).waitFor({ timeout: 2000 });
    check(Date.now() - t0 <= 2000, "the desk learns of the pending pause within 2 s");
    check(await page.locator("#call").isVisible(), "the call stays on the desk");
    await shot(page, "desk-pending");

    const floor = await (await fetch(cfg.base + "/v1/floor", { headers: sup })).json();
    const call = floor.agents.find((a) => a.agent === cfg.agent).call.id;
    const released = await fetch(`${cfg.base}/v1/calls/${call}/release`, {
      method: "POST", headers: sup, body: JSON.stringify({ reason: cfg.release_reason }) });
    check(released.status === 200, "the supervisor releases the call");
    t0 = Date.now();
    await page.locator("#released-note", { hasText: "主管已释放本通电话" }).waitFor({ timeout: 2000 });
    check(Date.now() - t0 <= 2000, "the desk learns of the release within 2 s");
    check(!(await page.locator("#release").isVisible()), "a released call cannot be handed back");
    await page.locator("[data-disposition=declined]").click();
    await page.locator("#status", { hasText: "已记录：拒绝" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#call").waitFor({ state: "hidden", timeout: TIMEOUT });
    await page.locator("#state", { hasText: "暂停 · " + cfg.reason }).waitFor({ timeout: TIMEOUT });

    // Back to work, a call in hand, and sign out: the desk asks first.
    await page.locator("#ready").click();
    await page.locator("#state", { hasText: "就绪" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#next").click();
    await page.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
    let asked = null;
    page.once("dialog", (d) => { asked = d.message(); d.accept(); });
    await page.locator("#signout").click();
    await page.locator("#signin-panel").waitFor({ state: "visible", timeout: TIMEOUT });
    check(asked && asked.includes("通话中"), "sign out over a held call asks first: " + asked);
  },

  async desk_keeps_pause(browser) {
    const page = await browser.newPage({ locale: "en-US", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#state", { hasText: "Paused · " + cfg.reason }).waitFor({ timeout: TIMEOUT });
    await page.locator("#ready").waitFor({ state: "visible", timeout: TIMEOUT });
    // Long enough for a sign-in the page should not send to have landed.
    await page.waitForTimeout(500);
    check((await text(page, "#state")) === "Paused · " + cfg.reason, "the pause is still shown");
  },

  // The floor: a tile per agent, live when an agent takes a call through the API, filtered by
  // team, sorted, and in Chinese at the switch.
  async floor(browser) {
    const page = await browser.newPage({ locale: "en-US", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/floor", cfg.supervisor_token);
    await page.locator("#live-text", { hasText: "live" }).waitFor({ timeout: TIMEOUT });
    const busy = page.locator(`.tile[data-agent="${cfg.agent}"]`);
    await busy.waitFor({ timeout: TIMEOUT });
    check((await busy.getAttribute("data-state")) === "ready", "the signed-in agent is ready");
    check((await text(page, `.tile[data-agent="${cfg.paused_agent}"]`)).includes("Paused · " + cfg.reason), "a pause shows its reason");
    const auth = { Authorization: "Bearer " + cfg.agent_token, "Content-Type": "application/json" };
    const res = await fetch(cfg.base + "/v1/calls/next", { method: "POST", headers: auth });
    check(res.status === 200, "the agent takes a call");
    await page.locator(`.tile[data-agent="${cfg.agent}"][data-state="on_call"]`).waitFor({ timeout: TIMEOUT });
    check((await text(page, `.tile[data-agent="${cfg.agent}"] .tile-call`)).includes("lease left"), "the call's lease time left is shown");
    const callText = await text(page, `.tile[data-agent="${cfg.agent}"] .tile-call`);
    check(callText.includes(cfg.campaign_name) && callText.includes("talk"), "the call shows its campaign by name and the talk time: " + callText);
    await page.locator(`#summary tr[data-team="north"] td[data-state="on_call"]`, { hasText: "1" }).waitFor({ timeout: TIMEOUT });
    await page.locator(`#summary li[data-campaign="${cfg.campaign}"]`).waitFor({ timeout: TIMEOUT });
    check(!(await text(page, "#tiles")).includes(cfg.phone), "never a phone number");
    await shot(page, "floor");
    await page.locator("#team").selectOption(cfg.team);
    check((await page.locator(".tile").count()) === 1, "the team filter leaves that team's agents");
    await page.locator("#team").selectOption("");
    await page.locator("#sort").selectOption("state");
    check((await page.locator(".tile").first().getAttribute("data-state")) === "on_call", "sorted by state, calls first");
    // The floor acts: each action is confirmed, and the tile shows it at once.
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.accept(); });
    const tileOf = (id) => page.locator(`.tile[data-agent="${id}"]`);
    await tileOf(cfg.agent).locator(".tile-reason").selectOption(cfg.reason);
    await tileOf(cfg.agent).locator(".tile-pause").click();
    await tileOf(cfg.agent).locator(".tile-pending", { hasText: "pause after this call" }).waitFor({ timeout: TIMEOUT });
    await tileOf(cfg.agent).locator(".tile-release").click();
    await page.locator(`.tile[data-agent="${cfg.agent}"][data-state="paused"]`).waitFor({ timeout: TIMEOUT });
    await tileOf(cfg.paused_agent).locator(".tile-signout").click();
    await page.locator(`.tile[data-agent="${cfg.paused_agent}"][data-state="offline"]`).waitFor({ timeout: TIMEOUT });
    check(dialogs.length === 3 && dialogs[0].includes(cfg.reason), "each action asked first: " + JSON.stringify(dialogs));
    await shot(page, "floor-acted");
    await accessible(page, "the floor");
    await page.locator("#lang-switch").click();
    check((await text(page, "h1")) === "现场", "the floor speaks Chinese");
    check((await text(page, `.tile[data-agent="${cfg.agent}"]`)).includes("暂停"), "states in Chinese");
    check((await text(page, "#summary")).includes("通话中"), "the summary in Chinese");
  },

  // The console needs no curl for its people: an admin makes an agent in a team (its token shown
  // once, and working), moves it, makes a supervisor's token, sees the shipped pause reasons and
  // adds one — in Chinese.
  async people(browser) {
    const page = await browser.newPage({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/lead", cfg.admin_token);
    await page.locator("[data-tab=people]").click();
    await page.locator("#reason-list li", { hasText: "系统故障" }).waitFor({ timeout: TIMEOUT });
    check((await text(page, "#reason-list")).includes("休息"), "the shipped pause reasons are listed");
    await page.locator("#agent-form [name=name]").fill("张伟");
    await page.locator("#agent-form [name=team]").fill("深圳一组");
    await page.locator("#agent-form button[type=submit]").click();
    const shown = page.locator("#people-secret code.secret");
    await shown.waitFor({ timeout: TIMEOUT });
    const token = (await shown.textContent()) || "";
    const me = await fetch(cfg.base + "/v1/agents/me/state", { headers: { Authorization: "Bearer " + token } });
    check(me.status === 200, "the agent token shown once works: " + me.status);
    const row = page.locator("#agent-rows tr", { hasText: "张伟" });
    await row.waitFor({ timeout: TIMEOUT });
    await row.locator("input").fill("深圳二组");
    await row.locator("button.move").click();
    await page.locator("#agent-rows tr", { hasText: "张伟" }).locator("input").evaluate((i) => i.value).then((v) => check(v === "深圳二组", "moved: " + v));
    await page.locator("#token-form [name=name]").fill("值班主管");
    await page.locator("#token-role").selectOption("supervisor");
    await page.locator("#token-form button[type=submit]").click();
    await page.locator("#token-rows tr", { hasText: "值班主管" }).waitFor({ timeout: TIMEOUT });
    const sup = (await page.locator("#people-secret code.secret").textContent()) || "";
    const floor = await fetch(cfg.base + "/v1/floor", { headers: { Authorization: "Bearer " + sup } });
    check(floor.status === 200, "the supervisor token shown once opens the floor: " + floor.status);
    await page.locator("#reason-form [name=name]").fill("辅导");
    await page.locator("#reason-form button[type=submit]").click();
    await page.locator("#reason-list li", { hasText: "辅导" }).waitFor({ timeout: TIMEOUT });
    await shot(page, "console-people");
    await accessible(page, "the console's People tab");
  },

  // "Why isn't it dialing?" in the console: a campaign's warnings in the list, its funnel, its
  // forecast with a chart, the same for a draft, and a contact looked up by phone — in English,
  // then in Chinese.
  async insight(browser) {
    const page = await browser.newPage({ locale: "en-US", timezoneId: "Asia/Shanghai", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/lead", cfg.lead_token);
    const row = page.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"]`);
    await row.waitFor({ timeout: TIMEOUT });
    const mark = row.locator(".warn-mark");
    check((await mark.getAttribute("data-count")) === String(cfg.warnings.length), "the warning marker counts the warnings");
    const hover = (await mark.getAttribute("title")) || "";
    check(hover.includes("Script fields missing") && hover.includes(cfg.warnings[0].message), "the marker's hover text names the warning and its message: " + hover);

    await row.locator("[data-action=insight]").click();
    const panel = page.locator("#insight");
    await panel.locator("#funnel tr[data-code=callable_now]").waitFor({ timeout: TIMEOUT });
    const count = async (code) => (await text(page, `#funnel tr[data-code=${code}] td.num`)).replace(/\D/g, "");
    check((await count("callable_now")) === String(cfg.funnel.callable_now), "callable now as the API counts it");
    for (const [code, n] of Object.entries(cfg.funnel.blocked)) {
      const shown = await page.locator(`#funnel tr[data-code=${code}]`).count();
      check(n === 0 ? shown === 0 : (await count(code)) === String(n), `${code}: ${n} as the API counts it`);
    }
    check((await text(page, "#funnel tr[data-code=outside_campaign_window]")).includes("Outside the campaign's calling windows"), "the reason is in words");
    check((await text(page, "#next-callable")).includes("00:00"), "the next callable time is the window's opening: " + (await text(page, "#next-callable")));
    check((await text(page, "#insight-warnings")).includes(cfg.warnings[0].message), "the warnings are listed");

    // The forecast: defaults from the API, then the lead's own figures.
    const form = page.locator("#forecast-form");
    await page.locator("#forecast-chart svg .bar").first().waitFor({ state: "attached", timeout: TIMEOUT });
    check((await form.locator("[name=agents]").inputValue()) === String(cfg.default_agents), "the agents default to the API's assumption");
    await form.locator("[name=agents]").fill("0");
    await form.locator("button[type=submit]").click();
    await page.locator("#forecast-form [data-field=agents][aria-invalid=true] + .field-error").waitFor({ timeout: TIMEOUT });
    await form.locator("[name=agents]").fill(String(cfg.agents));
    await form.locator("[name=handle_time]").fill(String(cfg.handle_time));
    await form.locator("button[type=submit]").click();
    await page.locator(`#exhausted-on[data-date="${cfg.forecast.exhausted_on}"]`).waitFor({ timeout: TIMEOUT });
    check((await page.locator("#forecast-chart svg .bar").count()) === cfg.forecast.days.length, "one bar a day");
    check((await text(page, "#agents-needed")).includes(String(cfg.forecast.agents_needed_to_finish_by_end)), "the agents needed to finish by the end");
    const assumed = await text(page, "#assumptions");
    check(assumed.includes(OCpct(cfg.forecast.assumptions.contact_rate)) && assumed.includes("stated defaults"), "the rates and where they came from: " + assumed);
    await shot(page, "lead-insight");

    // A draft: everything waits for the start, and the dry run still forecasts.
    await page.locator(`#campaign-rows tr[data-campaign="${cfg.draft}"] [data-action=insight]`).click();
    await page.locator(`#insight[data-campaign="${cfg.draft}"] #funnel tr[data-code=campaign_not_active]`).waitFor({ timeout: TIMEOUT });
    await page.locator("#forecast-chart svg .bar").first().waitFor({ state: "attached", timeout: TIMEOUT });

    // Why is this person not called? By phone, in any form.
    await page.locator("[data-tab=why]").click();
    await page.locator("#why-phone").fill("12345");
    await page.locator("#why-form button[type=submit]").click();
    await page.locator("#why-phone[aria-invalid=true] + .field-error").waitFor({ timeout: TIMEOUT });
    await page.locator("#why-phone").fill(cfg.unknown_phone);
    await page.locator("#why-form button[type=submit]").click();
    await page.locator("#why-result", { hasText: "No contact has this phone" }).waitFor({ timeout: TIMEOUT });
    // Outside its windows: every reason with when it ends, and when it becomes callable.
    await page.locator("#why-phone").fill(cfg.window_phone);
    await page.locator("#why-form button[type=submit]").click();
    const waiting = `#why-result [data-campaign="${cfg.campaign}"]`;
    await page.locator(`${waiting} [data-reason=outside_campaign_window]`).waitFor({ timeout: TIMEOUT });
    let why = await text(page, "#why-result");
    check(why.includes(cfg.campaign_name) && why.includes("Not callable"), "the campaign is named, not callable: " + why);
    check((await text(page, `${waiting} [data-reason=outside_campaign_window]`)).includes("until") && why.includes("00:00"), "the window reason with when it ends: " + why);
    check((await text(page, `${waiting} .callable-at`)).includes("Asia/Shanghai"), "callable at, in the campaign's zone: " + why);
    await shot(page, "lead-why-window");
    // On the do-not-call list: never by itself.
    await page.locator("#why-phone").fill(cfg.dnc_phone);
    await page.locator("#why-form button[type=submit]").click();
    await page.locator(`${waiting} [data-reason=dnc]`).waitFor({ timeout: TIMEOUT });
    why = await text(page, "#why-result");
    check(/on the do-not-call list/i.test(await text(page, `${waiting} [data-reason=dnc]`)), "the do-not-call reason in words: " + why);
    check(why.includes("Will not become callable by itself"), "never by itself: " + why);
    await shot(page, "lead-why");

    // The same in Chinese.
    await page.locator("#lang-switch").click();
    check((await text(page, `#why-result [data-campaign="${cfg.campaign}"] [data-reason=dnc]`)).includes("免打扰"), "reasons in Chinese");
    check((await text(page, "[data-tab=why]")) === "为何未拨打", "the tab in Chinese");
    await page.locator("[data-tab=campaigns]").click();
    await page.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"] [data-action=insight]`).click();
    await page.locator("#funnel tr[data-code=outside_campaign_window]", { hasText: "不在活动拨打时段内" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#forecast-chart svg .bar").first().waitFor({ state: "attached", timeout: TIMEOUT });
    check((await text(page, "#insight-warnings")).includes("话术字段缺失"), "warning codes in Chinese");
    await shot(page, "lead-insight-zh");
  },

  // An agent with nothing callable now is told when the next call is expected and why, in the
  // agent's own zone and language.
  async outlook(browser) {
    const page = await browser.newPage({ locale: "en-US", timezoneId: "Asia/Shanghai", viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#state", { hasText: "Ready" }).waitFor({ timeout: TIMEOUT });
    await page.locator("#next").click();
    await page.locator("#status", { hasText: "Next call around" }).waitFor({ timeout: TIMEOUT });
    const said = await text(page, "#status");
    check(said.includes("00:00") && said.includes(cfg.day_en), "the opening, with its day as it is not today: " + said);
    check(said.includes("outside the campaign's calling windows"), "the reason in words: " + said);
    await shot(page, "agent-outlook");
    await page.locator("#lang-switch").click();
    await page.locator("#status", { hasText: "预计" }).waitFor({ timeout: TIMEOUT });
    check((await text(page, "#status")).includes("不在活动拨打时段内"), "the reason in Chinese: " + (await text(page, "#status")));
    await shot(page, "agent-outlook-zh");
  },

  // Chinese by default for a Chinese browser, a switch that sticks, and back.
  async language(browser) {
    const zh = await browser.newContext({ locale: "zh-CN" });
    const page = await zh.newPage();
    await page.goto(cfg.base + "/app/agent");
    check((await text(page, "h1")) === "坐席工作台", "a Chinese browser gets Chinese: " + (await text(page, "h1")));
    check((await page.locator("html").getAttribute("lang")) === "zh-CN", "the page says it is Chinese");
    await page.locator("#lang-switch").click();
    check((await text(page, "h1")) === "Agent desk", "the switch turns it to English");
    await page.reload();
    check((await text(page, "h1")) === "Agent desk", "the choice survives a reload");
    await signIn(page, "/app/agent", cfg.agent_token);
    await page.locator("#lang-switch").click();
    check((await text(page, "#next")).includes("下一通电话"), "signed in, the switch turns buttons to Chinese");
    await shot(page, "agent-zh");

    const en = await browser.newContext({ locale: "en-US" });
    for (const [path, english, chinese] of [["/app/lead", "Campaign console", "活动管理台"], ["/app/dashboard", "Live dashboard", "实时看板"]]) {
      const p = await en.newPage();
      await p.goto(cfg.base + path);
      check((await text(p, "h1")) === english, `${path} is English in an English browser`);
      await p.locator("#lang-switch").click();
      check((await text(p, "h1")) === chinese, `${path} switches to Chinese`);
      await p.locator("#lang-switch").click();
    }
  },
};

// Each file in scenarios/ exports more scenarios (one file per area, so areas grow apart).
for (const file of readdirSync(new URL("./scenarios/", import.meta.url)).filter((f) => f.endsWith(".mjs")).sort()) {
  Object.assign(scenarios, (await import(`./scenarios/${file}`)).default);
}

const run = scenarios[cfg.scenario];
if (!run) {
  console.error("unknown scenario: " + cfg.scenario);
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
browser.on("disconnected", () => {});
try {
  // Page errors (an exception in a script, a CSP violation) fail the scenario.
  const origNewPage = browser.newPage.bind(browser);
  const watch = (page) => {
    page.on("pageerror", (e) => errors.push("page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error" && !/status of (4\d\d)/.test(m.text())) errors.push("console: " + m.text()); });
    return page;
  };
  browser.newPage = async (o) => watch(await origNewPage(o));
  const origNewContext = browser.newContext.bind(browser);
  browser.newContext = async (o) => {
    const ctx = await origNewContext(o);
    ctx.on("page", watch);
    return ctx;
  };
  await run(browser);
  check(errors.length === 0, "no script errors: " + errors.join("; "));
  console.log(`scenario ${cfg.scenario}: ok`);
} catch (e) {
  console.error(`scenario ${cfg.scenario}: ${e.message}`);
  if (errors.length) console.error(errors.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
