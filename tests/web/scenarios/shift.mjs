// A whole shift through the pages alone, in one language (cfg.lang: "zh" or "en"): the admin
// makes a lead's and a supervisor's token; the lead makes agents, a pause reason, an offer, a
// script and a campaign and imports a GBK list; two agents work calls (a callback, a
// conversion); the supervisor pauses one mid-call from the floor (its outcome still records)
// and releases the other's call; the wallboard shows the result. Every page passes axe-core,
// and each is photographed (shift-<lang>-<page>.png) when OUTCALL_SCREENSHOTS is set.
import { cfg, check, shot, signIn, accessible, text, TIMEOUT } from "../lib.mjs";

const zh = () => cfg.lang === "zh";
const locale = () => (zh() ? "zh-CN" : "en-US");
const say = (zhText, enText) => (zh() ? zhText : enText);

/** The secret a People-tab form showed once, after submitting it. */
async function secretAfter(page, form) {
  const before = (await page.locator("#people-secret code.secret").count()) ? await text(page, "#people-secret code.secret") : "";
  await page.locator(`${form} button[type=submit]`).click();
  await page.waitForFunction((old) => {
    const c = document.querySelector("#people-secret code.secret");
    return c && c.textContent && c.textContent !== old;
  }, before, { timeout: TIMEOUT });
  return text(page, "#people-secret code.secret");
}

async function admin(browser) {
  const page = await browser.newPage({ locale: locale(), viewport: { width: 1440, height: 900 } });
  await signIn(page, "/app/lead", cfg.admin_token);
  await page.locator("[data-tab=people]").click();
  await page.locator("#token-form [name=name]").fill(cfg.lead_name);
  await page.locator("#token-role").selectOption("lead");
  const lead = await secretAfter(page, "#token-form");
  await page.locator("#token-form [name=name]").fill(cfg.supervisor_name);
  await page.locator("#token-role").selectOption("supervisor");
  const supervisor = await secretAfter(page, "#token-form");
  await page.locator("#token-rows tr", { hasText: cfg.supervisor_name }).waitFor({ timeout: TIMEOUT });
  await page.close();
  return { lead, supervisor };
}

/** The lead's morning: people, a pause reason, the catalog, a campaign, its list. */
async function lead(browser, token) {
  const page = await browser.newPage({ locale: locale(), viewport: { width: 1440, height: 900 } });
  await signIn(page, "/app/lead", token);
  await page.locator("[data-tab=people]").click();
  check(await page.locator("#tokens-card").isHidden(), "a lead keeps no role tokens");
  const agents = [];
  for (const a of cfg.agents) {
    await page.locator("#agent-form [name=name]").fill(a);
    await page.locator("#agent-form [name=team]").fill(cfg.team);
    agents.push(await secretAfter(page, "#agent-form"));
  }
  await page.locator("#reason-form [name=name]").fill(cfg.reason);
  await page.locator("#reason-form button[type=submit]").click();
  await page.locator("#reason-list li", { hasText: cfg.reason }).waitFor({ timeout: TIMEOUT });
  await accessible(page, "the People tab");
  await shot(page, `shift-${cfg.lang}-people`);

  await page.locator("[data-tab=catalog]").click();
  const offer = page.locator("#offer-form");
  await offer.locator("[name=code]").fill(cfg.offer);
  await offer.locator("[name=name]").fill(cfg.offer_name);
  await offer.locator("button[type=submit]").click();
  await page.locator("#offer-rows tr", { hasText: cfg.offer }).waitFor({ timeout: TIMEOUT });
  const script = page.locator("#script-form");
  await script.locator("[name=name]").fill(cfg.script_name);
  await script.locator("[name=body]").fill(cfg.script_body);
  await script.locator("button[type=submit]").click();
  await page.locator("#script-rows tr", { hasText: cfg.script_name }).waitFor({ timeout: TIMEOUT });
  await accessible(page, "the Offers & scripts tab");
  await shot(page, `shift-${cfg.lang}-catalog`);

  await page.locator("[data-tab=campaigns]").click();
  await page.locator("#new-campaign").click();
  const form = page.locator("#campaign-form");
  await form.waitFor({ state: "visible" });
  await form.locator("[name=name]").fill(cfg.campaign_name);
  await form.locator(`[name=offer] option[value="${cfg.offer}"]`).waitFor({ state: "attached", timeout: TIMEOUT });
  await form.locator("[name=offer]").selectOption(cfg.offer);
  await form.locator("[name=script_id] option", { hasText: cfg.script_name }).waitFor({ state: "attached", timeout: TIMEOUT });
  await form.locator("[name=script_id]").selectOption({ label: (await form.locator("[name=script_id] option", { hasText: cfg.script_name }).textContent()) });
  await form.locator("[name=teams]").fill(cfg.team);
  // Calls all day, every day, so the test runs at any hour: the form's default windows are
  // weekday office hours in Shanghai (09–12, 14–20), closed at lunch and at weekends.
  const windows = page.locator("#windows .window");
  while ((await windows.count()) > 1) await windows.last().locator("button.danger").click();
  for (const box of await windows.first().locator("input[type=checkbox]").all()) await box.check();
  await windows.first().locator(".w-start").fill("00:00");
  await windows.first().locator(".w-end").fill("23:59");
  await accessible(page, "the campaign form");
  await shot(page, `shift-${cfg.lang}-campaign-form`);
  await page.locator("#campaign-save").click();
  await form.waitFor({ state: "hidden", timeout: TIMEOUT });
  const row = page.locator("#campaign-rows tr", { hasText: cfg.campaign_name });
  await row.locator("[data-status=draft]").waitFor({ timeout: TIMEOUT });
  const campaign = Number(await row.getAttribute("data-campaign")) || null;

  await page.locator("[data-tab=import]").click();
  await page.locator("#import-campaign option", { hasText: cfg.campaign_name }).waitFor({ state: "attached", timeout: TIMEOUT });
  await page.locator("#import-campaign").selectOption({ label: await page.locator("#import-campaign option", { hasText: cfg.campaign_name }).textContent() });
  await page.locator("#import-file").setInputFiles({ name: "客户名单.csv", mimeType: "text/csv", buffer: Buffer.from(cfg.gbk_csv) });
  await page.locator("#import-form button[type=submit]").click();
  await page.locator("#import-preview").waitFor({ state: "visible", timeout: TIMEOUT });
  check((await text(page, "#import-preview")).includes(cfg.first_name), "the GBK file is read as Chinese in the preview");
  await page.locator("#import-confirm").click();
  await page.locator("#import-report").waitFor({ state: "visible", timeout: TIMEOUT });
  check((await text(page, "#r-accepted")) === String(cfg.rows), "every row of the list is accepted: " + (await text(page, "#r-accepted")));
  await page.locator("#list-rows tr", { hasText: "客户名单.csv" }).waitFor({ timeout: TIMEOUT });
  await accessible(page, "the import report");
  await shot(page, `shift-${cfg.lang}-import`);

  // The script read as the agent will read it, for a person of the list, before the start.
  await page.locator("[data-tab=catalog]").click();
  await page.locator("#script-rows tr", { hasText: cfg.script_name }).locator(".edit-script").click();
  await page.locator("#script-preview-phone").fill(cfg.first_phone);
  await page.locator("#script-preview").click();
  await page.locator("#script-preview-text", { hasText: cfg.first_name }).waitFor({ timeout: TIMEOUT });
  check((await text(page, "#script-preview-text")).includes(cfg.first_plan), "the preview reads the person's plan: " + (await text(page, "#script-preview-text")));
  await accessible(page, "the script editor with its preview");
  await shot(page, `shift-${cfg.lang}-script-preview`);
  await page.locator("#script-edit-cancel").click();

  await page.locator("[data-tab=campaigns]").click();
  await row.locator("[data-action=start]").click();
  await row.locator("[data-status=active]").waitFor({ timeout: TIMEOUT });
  await shot(page, `shift-${cfg.lang}-campaigns`);
  return { page, agents, campaign };
}

async function desk(browser, token, viewport) {
  const page = await browser.newPage({ locale: locale(), viewport });
  await signIn(page, "/app/agent", token);
  await page.locator("#state-banner.ready").waitFor({ timeout: TIMEOUT });
  return page;
}

async function takeCall(page) {
  await page.locator("#next").click();
  await page.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
  await page.locator("#state-banner.on_call").waitFor({ timeout: TIMEOUT });
  return text(page, "#name");
}

export default {
  async shift(browser) {
    const tokens = await admin(browser);
    const { page: console_, agents } = await lead(browser, tokens.lead);

    // Two agents sign in with the tokens the lead was shown: one at a desk, one on a phone.
    const first = await desk(browser, agents[0], { width: 1440, height: 900 });
    const second = await desk(browser, agents[1], { width: 390, height: 844 });

    // The first promises a callback for tomorrow morning, then takes another call.
    await takeCall(first);
    check((await text(first, "#script")).startsWith(say("您好", "您好")), "the script greets the contact: " + (await text(first, "#script")));
    await first.locator("button[data-disposition=callback]").click();
    await first.locator("#callback-at").fill(cfg.callback_local);
    await first.locator("#callback-save").click();
    await first.locator("#status", { hasText: say("已记录：回拨", "Recorded: Callback") }).waitFor({ timeout: TIMEOUT });
    await first.locator("#my-callbacks li").first().waitFor({ timeout: TIMEOUT });
    await takeCall(first);
    await accessible(first, "the desk on a call");
    await shot(first, `shift-${cfg.lang}-desk`);
    await takeCall(second);
    await accessible(second, "the desk on a phone");
    await shot(second, `shift-${cfg.lang}-desk-phone`);

    // The supervisor, from the floor: a pause for the first agent mid-call, and the second's
    // call released. Each action asks first.
    const floor = await browser.newPage({ locale: locale(), viewport: { width: 1440, height: 900 } });
    const asked = [];
    floor.on("dialog", (d) => { asked.push(d.message()); d.accept(); });
    await signIn(floor, "/app/floor", tokens.supervisor);
    const tile = (name) => floor.locator(".tile", { hasText: name });
    await tile(cfg.agents[0]).and(floor.locator("[data-state=on_call]")).waitFor({ timeout: TIMEOUT });
    await tile(cfg.agents[1]).and(floor.locator("[data-state=on_call]")).waitFor({ timeout: TIMEOUT });
    await tile(cfg.agents[0]).locator(".tile-reason").selectOption(cfg.reason);
    await tile(cfg.agents[0]).locator(".tile-pause").click();
    await tile(cfg.agents[0]).locator(".tile-pending").waitFor({ timeout: TIMEOUT });
    await tile(cfg.agents[1]).locator(".tile-release").click();
    check(asked.length === 2, "both actions were confirmed: " + JSON.stringify(asked));
    await accessible(floor, "the floor");
    await shot(floor, `shift-${cfg.lang}-floor`);

    // The paused agent's call goes on and its outcome records: a conversion.
    await first.locator("#pending").waitFor({ state: "visible", timeout: TIMEOUT });
    await first.locator("#notes").fill(say("客户同意升级 5G", "Agreed to the 5G upgrade"));
    await first.locator("button[data-disposition=accepted]").click();
    await first.locator("#status", { hasText: say("已记录：接受", "Recorded: Accepted") }).waitFor({ timeout: TIMEOUT });
    await first.locator("#state-banner.paused").waitFor({ timeout: TIMEOUT });
    check((await text(first, "#state")).includes(cfg.reason), "paused for the supervisor's reason: " + (await text(first, "#state")));
    await tile(cfg.agents[0]).and(floor.locator("[data-state=paused]")).waitFor({ timeout: TIMEOUT });

    // The released call leaves the second agent's hands; it is told so.
    await second.locator("#released-note").waitFor({ state: "visible", timeout: TIMEOUT });

    // The wallboard shows the day's conversion.
    const wall = await browser.newPage({ locale: locale(), viewport: { width: 1440, height: 900 } });
    await signIn(wall, "/app/dashboard", tokens.supervisor);
    await wall.locator("#k-conversions", { hasText: "1" }).waitFor({ timeout: TIMEOUT });
    await wall.locator("#chart canvas").waitFor({ timeout: TIMEOUT });
    await wall.waitForTimeout(300);
    await accessible(wall, "the wallboard");
    await shot(wall, `shift-${cfg.lang}-wallboard`);

    // And the console, back from the floor, says the same.
    await console_.locator("[data-tab=campaigns]").click();
    await console_.reload();
    await console_.locator("#campaign-rows tr", { hasText: cfg.campaign_name }).waitFor({ timeout: TIMEOUT });
    check((await text(console_, "h1")).length > 0, "the console is still signed in");
  },
};
