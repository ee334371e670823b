// A lead names a list on upload, sees it with its report under the import form, switches it
// off and removes its untouched contacts (confirmed) — in English and in Chinese.
import { TIMEOUT, accessible, cfg, check, shot, signIn, text } from "../lib.mjs";

const WORDS = {
  "en-US": { source: "upload", report: "2 added", off: "off", removed: "2 contacts removed", confirm: "never called" },
  "zh-CN": { source: "上传", report: "新增 2", off: "停用", removed: "已移除 2 个联系人", confirm: "从未拨打" },
};

export default {
  async lists(browser) {
    for (const [i, locale] of ["en-US", "zh-CN"].entries()) {
      const words = WORDS[locale];
      const { campaign, name } = cfg.runs[i];
      const page = await browser.newPage({ locale, viewport: { width: 1280, height: 900 } });
      await signIn(page, "/app/lead", cfg.lead_token);
      await page.locator("[data-tab=import]").click();
      await page.locator(`#import-campaign option[value="${campaign}"]`).waitFor({ state: "attached" });
      await page.locator("#import-campaign").selectOption(String(campaign));
      await page.locator("#lists-empty").waitFor({ state: "visible", timeout: TIMEOUT });
      await page.locator("#import-list-name").fill(name);
      await page.locator("#import-file").setInputFiles({ name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(cfg.csv) });
      await page.locator("#import-form button[type=submit]").click();
      await page.locator("#import-confirm").click();
      await page.locator("#import-report").waitFor({ state: "visible", timeout: TIMEOUT });

      // The list appears with its name, source and report, switched on.
      const row = page.locator("#list-rows tr", { hasText: name });
      await row.waitFor({ timeout: TIMEOUT });
      const line = await row.textContent();
      check(line.includes(words.source), `${locale}: the source in the page's language: ${line}`);
      check(line.includes(words.report), `${locale}: the report in the page's language: ${line}`);
      const toggle = row.locator("input[role=switch]");
      check(await toggle.isChecked(), `${locale}: a new list is on`);
      await accessible(page, `${locale} lists`);
      await shot(page, `lead-lists-${locale}`);

      // Off: the switch says so once the server agreed.
      await toggle.click();
      await row.locator("td", { hasText: words.off }).waitFor({ timeout: TIMEOUT });
      check(!(await toggle.isChecked()), `${locale}: the list is off`);

      // Remove untouched contacts, confirmed in the page's language; the toast says how many.
      let asked = "";
      page.once("dialog", (d) => { asked = d.message(); d.accept(); });
      await row.locator("button").click();
      await page.locator(".toast", { hasText: words.removed }).waitFor({ timeout: TIMEOUT });
      check(asked.includes(words.confirm) && asked.includes(name), `${locale}: the confirmation names the list: ${asked}`);
      check((await text(page, "#list-rows")).includes(name), `${locale}: the list itself stays`);
      await page.close();
    }
  },
};
