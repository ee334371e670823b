// The console's Contacts and Segments tabs (issue 25): a person found by the start of their
// name and edited (a bad time zone named at its input), a campaign's people downloaded in
// GB18030, a segment built with its live count, saved and added to a campaign — in English,
// then the same tabs in Chinese.
import { check, signIn, shot, accessible, text, cfg, TIMEOUT } from "../lib.mjs";

async function findByName(page, prefix, expect) {
  await page.locator("#ct-by").selectOption("name");
  await page.locator("#ct-q").fill(prefix);
  await page.locator("#ct-search button[type=submit]").click();
  await page.locator("#ct-rows tr", { hasText: expect }).first().waitFor({ timeout: TIMEOUT });
}

async function setRule(page, key, value) {
  const rule = page.locator(".sg-rule").first();
  await rule.waitFor({ timeout: TIMEOUT });
  await rule.locator("[name=kind]").selectOption("attribute");
  await rule.locator("[name=key]").fill(key);
  await rule.locator("[name=op]").selectOption("eq");
  await rule.locator("[name=value]").fill(value);
}

async function countIs(page, n) {
  await page.waitForFunction((n) => document.querySelector("#sg-count")?.dataset.count === String(n), n, { timeout: TIMEOUT });
}

export default {
  async contacts(browser) {
    const page = await browser.newPage({ locale: "en-US", acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    await signIn(page, "/app/lead", cfg.lead_token);
    await page.locator("[data-tab=contacts]").click();
    check((await text(page, "[data-tab=contacts]")) === "Contacts", "the tab in English");
    await findByName(page, "张", "张三");
    const rows = await page.locator("#ct-rows tr").allTextContents();
    check(rows.length === 2 && rows[0].includes("张三") && rows[1].includes("张伟"), "张 finds 张三 and 张伟 in name order: " + rows);

    // Edit: a bad zone is named at its input, then a good edit is saved.
    await page.locator("#ct-rows tr", { hasText: "张伟" }).locator("button.edit").click();
    const form = page.locator("#ct-edit");
    await form.waitFor({ state: "visible", timeout: TIMEOUT });
    check((await form.locator("[name=attributes]").inputValue()).includes("plan = 全球通"), "attributes shown as lines");
    await form.locator("[name=timezone]").fill("Mars/Base");
    await form.locator("button[type=submit]").click();
    await form.locator("[data-field=timezone][aria-invalid=true]").waitFor({ timeout: TIMEOUT });
    check((await text(page, "#ct-edit .field-error")).length > 0, "the time zone's error is shown next to it");
    await form.locator("[name=name]").fill("张伟强");
    await form.locator("[name=timezone]").fill("Asia/Urumqi");
    await form.locator("[name=attributes]").fill("plan = 全球通\n套餐 = 5G-PLUS");
    await form.locator("button[type=submit]").click();
    await page.locator("#ct-rows tr", { hasText: "张伟强" }).waitFor({ timeout: TIMEOUT });
    await accessible(page, "the Contacts tab");
    await shot(page, "console-contacts");

    // A campaign's people in GB18030.
    await page.locator("#ct-export-campaign").selectOption(String(cfg.campaign));
    await page.locator("#ct-charset").selectOption("gb18030");
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: TIMEOUT }),
      page.locator("#ct-export-contacts").click()]);
    const { readFileSync } = await import("node:fs");
    const bytes = readFileSync(await download.path());
    const decoded = new TextDecoder("gb18030").decode(bytes);
    check(decoded.startsWith("phone,name") && decoded.includes("张伟强") && decoded.includes("全球通"), "the export decodes from GB18030: " + decoded.slice(0, 200));
    let utf8ok = true;
    try { new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch { utf8ok = false; }
    check(!utf8ok, "the file is GB18030, not UTF-8");
    check(download.suggestedFilename().endsWith("-gb18030.csv"), "named for its encoding: " + download.suggestedFilename());

    // Segments: a live count as the condition is typed, saved, added to a campaign.
    await page.locator("[data-tab=segments]").click();
    await setRule(page, "plan", "全球通");
    await countIs(page, 2);
    check((await text(page, "#sg-sample")).includes("李四"), "a sample of who matches");
    await page.locator(".sg-rule [name=not]").first().check();
    await countIs(page, cfg.people - 2);
    await page.locator(".sg-rule [name=not]").first().uncheck();
    await countIs(page, 2);
    await page.locator("#sg-name").fill("全球通客户");
    await page.locator("#sg-save").click();
    const saved = page.locator("#sg-rows tr", { hasText: "全球通客户" });
    await saved.waitFor({ timeout: TIMEOUT });
    await page.locator("#sg-campaign").selectOption(String(cfg.target));
    await page.locator("#sg-list-name").fill("全球通回访");
    await saved.locator("button.add-to-campaign").click();
    await page.waitForFunction(() => /Added 2/.test(document.querySelector("#sg-report")?.textContent || ""), null, { timeout: TIMEOUT });
    await accessible(page, "the Segments tab");
    await shot(page, "console-segments");

    // The same tabs in Chinese.
    await page.locator("#lang-switch").click();
    await page.waitForFunction(() => document.documentElement.lang === "zh-CN", null, { timeout: TIMEOUT });
    check((await text(page, "[data-tab=contacts]")) === "客户" && (await text(page, "[data-tab=segments]")) === "客群", "the tabs in Chinese");
    check((await text(page, "#sg-builder h3")) === "要拨打的客户", "the builder in Chinese");
    await setRule(page, "plan", "动感地带");
    await countIs(page, 1);
    check((await text(page, "#sg-sample")).startsWith("例如"), "the sample in Chinese");
    await page.locator("[data-tab=contacts]").click();
    check((await text(page, "#ct-search button[type=submit]")) === "查找", "the search in Chinese");
    await findByName(page, "李", "李四");
    await page.locator("#ct-rows tr", { hasText: "李四" }).locator("button.edit").click();
    await page.locator("#ct-edit [name=external_id]").fill("C-7");
    await page.locator("#ct-edit [name=timezone]").fill("Asia/Nowhere");
    await page.locator("#ct-edit button[type=submit]").click();
    await page.locator("#ct-edit [data-field=timezone][aria-invalid=true]").waitFor({ timeout: TIMEOUT });
    check(/时区/.test(await text(page, "#ct-edit .field-error")), "the reason in Chinese: " + await text(page, "#ct-edit .field-error"));
    await shot(page, "console-contacts-zh");
    await accessible(page, "the Contacts tab in Chinese");
  },
};
