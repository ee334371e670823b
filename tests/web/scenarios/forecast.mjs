// Attribute labels (issue 26 item 2), in both languages: the console's campaign form sets a
// campaign's labels, one a line, and the agent desk shows the labels instead of the raw keys
// (a key without a label shows as itself).
import { cfg, TIMEOUT, check, shot, signIn, text } from "../lib.mjs";

export default {
  async attributeLabels(browser) {
    const langs = [
      { locale: "zh-CN", agent: cfg.agents[0], field: "坐席台上的属性标签", name: cfg.names[0] },
      { locale: "en-US", agent: cfg.agents[1], field: "Attribute labels on the desk", name: cfg.names[1] },
    ];
    for (const l of langs) {
      const desk = await browser.newPage({ locale: l.locale, viewport: { width: 1440, height: 900 } });
      await signIn(desk, "/app/agent", l.agent);
      await desk.locator("#next").click();
      await desk.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
      const shown = await text(desk, "#attributes");
      check(shown.includes("月消费") && shown.includes("156"), `${l.locale}: the label stands for monthly_spend: ${shown}`);
      check(!shown.includes("monthly_spend"), `${l.locale}: the raw key is not shown: ${shown}`);
      check(shown.includes("city"), `${l.locale}: a key without a label shows as itself: ${shown}`);
      await shot(desk, `attribute-labels-desk-${l.locale}`);
      await desk.close();

      const lead = await browser.newPage({ locale: l.locale, viewport: { width: 1440, height: 900 } });
      await signIn(lead, "/app/lead", cfg.lead_token);
      await lead.locator("#new-campaign").click();
      const form = lead.locator("#campaign-form");
      await form.waitFor({ state: "visible", timeout: TIMEOUT });
      const label = await lead.locator("label:has(textarea[name=attribute_labels])").textContent();
      check(label.includes(l.field), `${l.locale}: the labels field is named in the page's language: ${label}`);
      await form.locator("input[name=name]").fill(l.name);
      await form.locator("textarea[name=attribute_labels]").fill("plan = 套餐\nmonthly_spend = 月消费");
      await lead.locator("#campaign-save").click();
      await form.waitFor({ state: "hidden", timeout: TIMEOUT });
      await lead.close();
    }
  },
};
