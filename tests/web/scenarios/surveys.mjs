// Surveys (issue 28): the desk asks a call's questions as a form, in English and in Chinese —
// a required question left open is named beside it, the answers go with the outcome — and the
// console declares questions in the script editor and charts a campaign's answers.
import { cfg, check, shot, signIn, accessible, text, TIMEOUT } from "../lib.mjs";

/** Takes the next call on a desk in `locale` and answers its survey; `say` holds the words. */
async function answerOnDesk(browser, locale, token, say, answers, disposition) {
  const page = await browser.newPage({ locale, viewport: { width: 1280, height: 900 } });
  await signIn(page, "/app/agent", token);
  await page.locator("#next").click();
  await page.locator("#call").waitFor({ state: "visible", timeout: TIMEOUT });
  await page.locator("#survey-card").waitFor({ state: "visible", timeout: TIMEOUT });
  check((await text(page, "#survey-card h3")) === say.title, `the survey is titled ${say.title}`);
  check(await page.locator("fieldset.survey-question").count() === 4, "one fieldset per question");
  check((await text(page, "fieldset[data-key=plan] legend")).includes("*"), "a required question is marked");
  check(!(await text(page, "fieldset[data-key=apps] legend")).includes("*"), "an optional one is not");

  // Recorded without its required answer: the server's error stands beside the question.
  await page.locator(`button[data-disposition=${disposition}]`).click();
  const error = page.locator('[data-field="answers.plan"] + .field-error');
  await error.waitFor({ timeout: TIMEOUT });
  check((await error.textContent()) === say.required, "the error is in the page's language: " + (await error.textContent()));
  check(await page.locator("#call").isVisible(), "the call stays on the desk");
  await accessible(page, `the ${locale} desk with a survey`);
  await shot(page, `survey-desk-${locale}`);

  await page.locator("fieldset[data-key=plan]").getByLabel(answers.plan, { exact: true }).check();
  for (const app of answers.apps) await page.locator("fieldset[data-key=apps]").getByLabel(app, { exact: true }).check();
  await page.locator("fieldset[data-key=spend] input").fill(String(answers.spend));
  await page.locator("fieldset[data-key=remark] input").fill(answers.remark);
  await page.locator(`button[data-disposition=${disposition}]`).click();
  await page.locator("#status", { hasText: say.recorded }).waitFor({ timeout: TIMEOUT });
  await page.close();
}

export default {
  async desk_survey(browser) {
    await answerOnDesk(browser, "en-US", cfg.agent_token,
      { title: "Survey", required: "Required.", recorded: "Recorded: Accepted" },
      { plan: "128元", apps: ["微信", "抖音"], spend: 128, remark: "wants 5G" }, "accepted");
    await answerOnDesk(browser, "zh-CN", cfg.agent_token,
      { title: "问卷", required: "必填。", recorded: "已记录：拒绝" },
      { plan: "88元", apps: ["微信"], spend: 88, remark: "太贵" }, "declined");

    // The console: the campaign's answers per option, in both languages.
    const page = await browser.newPage({ locale: "en-US", viewport: { width: 1440, height: 900 } });
    await signIn(page, "/app/lead", cfg.lead_token);
    await page.locator(`#campaign-rows tr[data-campaign="${cfg.campaign}"] [data-action=insight]`).click();
    const plan = page.locator("#survey-answers .survey-result[data-key=plan]");
    await plan.waitFor({ timeout: TIMEOUT });
    check((await text(page, "#survey-answers .survey-result[data-key=plan]")).includes("2 answered"), "two calls answered the plan");
    const wechat = page.locator("#survey-answers .survey-result[data-key=apps] tr[data-option=微信] td.num");
    check((await wechat.textContent()) === "2", "both chose WeChat");
    check((await text(page, "#survey-answers .survey-result[data-key=spend]")).includes("mean 108"), "the mean spend");
    await shot(page, "survey-answers");
    await page.locator("#lang-switch").click();
    await page.locator("#survey-answers .survey-result[data-key=plan]", { hasText: "2 人作答" }).waitFor({ timeout: TIMEOUT });
    check((await text(page, "#insight h4:has-text('问卷答案')")) === "问卷答案", "the heading in Chinese");
    check((await text(page, "#survey-answers .survey-result[data-key=spend]")).includes("平均 108"), "the mean in Chinese");
    await shot(page, "survey-answers-zh");
    await page.locator("#lang-switch").click();

    // The script editor lists the questions and saves a new one with the next version.
    await page.locator("[data-tab=catalog]").click();
    await page.locator(`#script-rows tr[data-script="${cfg.script}"] .edit-script`).click();
    const rows = page.locator("#script-questions .question-row");
    await rows.first().waitFor({ timeout: TIMEOUT });
    check(await rows.count() === 4, "the editor lists the four questions");
    await page.locator("#script-questions .add-question").click();
    const added = rows.nth(4);
    await added.locator("[name=q-key]").fill("Bad Key");
    await added.locator("[name=q-label]").fill("Satisfied?");
    await added.locator("[name=q-options]").fill("yes, no");
    await page.locator("#script-edit button[type=submit]").click();
    await page.locator('[data-field="questions[4].key"] + .field-error').waitFor({ timeout: TIMEOUT });
    await added.locator("[name=q-key]").fill("satisfied");
    await page.locator("#script-edit button[type=submit]").click();
    await page.locator("#script-edit").waitFor({ state: "hidden", timeout: TIMEOUT });

    // A new script asks its questions from its first version.
    const fresh = page.locator("#script-form");
    await fresh.locator("[name=name]").fill("问卷话术");
    await fresh.locator("[name=body]").fill("您好，{{ name }}。");
    await fresh.locator(".add-question").click();
    const first = fresh.locator(".question-row").first();
    await first.locator("[name=q-key]").fill("channel");
    await first.locator("[name=q-label]").fill("从哪里听说？");
    await first.locator("[name=q-options]").fill("短信, 营业厅");
    await fresh.locator("button[type=submit]").click();
    await page.locator("#script-rows tr td", { hasText: "问卷话术" }).waitFor({ timeout: TIMEOUT });
    check(await fresh.locator(".question-row").count() === 0, "the form's questions are cleared once the script is made");
    await accessible(page, "the console with the survey editor");
  },
};
