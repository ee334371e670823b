// Two campaigns on one team (issue 27 item 4), in both languages: the starved campaign's
// Insight names the campaign holding its agents (the warning), counts its callable contacts as
// waiting for agents busy elsewhere (the funnel) and says whom the forecast shares agents with.
import { cfg, TIMEOUT, accessible, check, shot, signIn, text } from "../lib.mjs";

export default {
  async sharedTeam(browser) {
    const langs = [
      { locale: "zh-CN", starved: "坐席都在拨打", shared: "同时服务于" },
      { locale: "en-US", starved: "its agents are taking calls of", shared: "These agents also work" },
    ];
    for (const l of langs) {
      const page = await browser.newPage({ locale: l.locale, timezoneId: "Asia/Shanghai", viewport: { width: 1280, height: 900 } });
      await signIn(page, "/app/lead", cfg.lead_token);
      const row = page.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"]`);
      await row.waitFor({ timeout: TIMEOUT });
      await row.locator("[data-action=insight]").click();
      const elsewhere = page.locator("#funnel tr[data-code=agents_busy_elsewhere] td.num");
      await elsewhere.waitFor({ timeout: TIMEOUT });
      check((await elsewhere.textContent()).replace(/\D/g, "") === String(cfg.elsewhere),
        `${l.locale}: the contacts waiting for agents busy elsewhere: ${await elsewhere.textContent()}`);
      const warnings = await text(page, "#insight-warnings");
      check(warnings.includes(l.starved) && warnings.includes(cfg.holder),
        `${l.locale}: the starved warning names the campaign holding the agents: ${warnings}`);
      await page.locator("#forecast-chart svg .bar").first().waitFor({ state: "attached", timeout: TIMEOUT });
      const assumed = await text(page, "#assumptions");
      check(assumed.includes(l.shared) && assumed.includes(cfg.holder),
        `${l.locale}: the forecast says whom the agents are shared with: ${assumed}`);
      await shot(page, `shared-team-insight-${l.locale}`);
      // Two notes at once (a supervisor's actions on the floor) stack instead of overlapping.
      await page.evaluate(() => { OC.toast("一"); OC.toast("二"); });
      const boxes = await page.locator(".toast").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
      check(boxes.length === 2 && (boxes[0].bottom <= boxes[1].top || boxes[1].bottom <= boxes[0].top),
        `${l.locale}: two toasts do not overlap: ${JSON.stringify(boxes)}`);
      await accessible(page, `${l.locale}: Insight of a starved campaign`);
      await page.close();
    }
  },
};
