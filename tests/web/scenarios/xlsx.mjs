// The console's import form takes an .xlsx workbook (issue 25): the picker accepts it, the
// preview names the sheet and offers the others, another sheet is previewed and imported.
import { readFileSync } from "node:fs";
import { cfg, check, signIn, text, accessible, TIMEOUT } from "../lib.mjs";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

export default {
  async xlsxImport(browser) {
    const book = readFileSync(new URL("../../fixtures/files/excel.xlsx", import.meta.url));
    for (const [locale, campaign, sheetWord] of [["en-US", cfg.campaign_en, "Sheet"], ["zh-CN", cfg.campaign_zh, "工作表"]]) {
      const page = await browser.newPage({ locale });
      await signIn(page, "/app/lead", cfg.lead_token);
      await page.locator("[data-tab=import]").click();
      check((await page.locator("#import-file").getAttribute("accept")).includes(".xlsx"), "the file picker offers .xlsx");
      await page.locator(`#import-campaign option[value="${campaign}"]`).waitFor({ state: "attached" });
      await page.locator("#import-campaign").selectOption(String(campaign));
      await page.locator("#import-file").setInputFiles({ name: "客户.xlsx", mimeType: XLSX, buffer: book });
      await page.locator("#import-form button[type=submit]").click();
      await page.locator("#import-preview").waitFor({ state: "visible", timeout: TIMEOUT });
      // The first sheet: its name, its Chinese headers read as fields, a phone typed as a number.
      check((await text(page, "#preview-info")).includes("客户"), `${locale}: the preview names the sheet: ` + (await text(page, "#preview-info")));
      check((await text(page, "#preview-info")).includes(sheetWord) || locale === "en-US", `${locale}: the preview is in the page's language`);
      check((await page.locator("#preview-map select").first().inputValue()) === "phone", `${locale}: 手机号码 is read as the phone`);
      check((await text(page, "#preview-rows tr:first-child td:first-child")) === "13800138000", `${locale}: the phone typed as a number shows its digits`);
      check(await page.locator("#preview-sheet-label").isVisible(), `${locale}: the other sheets are offered`);
      check((await text(page, "#preview-sheet-label")).includes(sheetWord), `${locale}: the sheet picker is labelled`);
      await accessible(page, `${locale} workbook preview`);
      // Another sheet: previewed again, then imported from it.
      await page.locator("#preview-sheet").selectOption("备用");
      await page.locator("#preview-info", { hasText: "备用" }).waitFor({ timeout: TIMEOUT });
      check((await page.locator("#preview-rows tr").count()) === 1, `${locale}: the other sheet's one row`);
      await page.locator("#import-confirm").click();
      await page.locator("#import-report").waitFor({ state: "visible", timeout: TIMEOUT });
      check((await text(page, "#r-accepted")) === "1", `${locale}: the other sheet's row is imported`);
      await page.close();
    }
  },
};
