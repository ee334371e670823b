// Shared helpers of the browser scenarios (e2e.mjs and scenarios/*.mjs).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export const cfg = JSON.parse(process.env.OUTCALL_E2E || "{}");
export const shots = process.env.OUTCALL_SCREENSHOTS || null;
export const executablePath = process.env.OUTCALL_CHROMIUM || "/usr/bin/chromium";
export const TIMEOUT = 15000;

export function check(cond, message) {
  if (!cond) throw new Error("check failed: " + message);
}

export async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: !name.startsWith("dashboard-") });
}

export async function signIn(page, path, token) {
  await page.goto(cfg.base + path);
  await page.locator("#token").fill(token);
  await page.locator("#signin button[type=submit]").click();
  await page.locator("#app").waitFor({ state: "visible" });
}

/** A share as the pages show it (OC.pct). */
export function OCpct(x) {
  return (x * 100).toFixed(1) + "%";
}

/** The call's essentials — phone, name, script, outcome buttons and notes — are on the first
 *  screen of a viewport `height` px high, without scrolling. */
export async function aboveTheFold(page, height) {
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const sel of ["#phone", "#name", "#script", "#dispositions", "#notes"]) {
    const box = await page.locator(sel).boundingBox();
    check(box && box.y >= 0 && box.y + box.height <= height,
      `${sel} is on the first screen of ${height} px: ${JSON.stringify(box)}`);
  }
}

/** An accessibility pass with axe-core (WCAG 2.1 A and AA: contrast, labels, names, roles) over
 *  what the page shows now; any serious or critical violation fails the scenario. */
export async function accessible(page, what) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  check(found.length === 0, `${what} has no serious accessibility violation:\n  ` + found.join("\n  "));
}

export async function text(page, sel) {
  return (await page.locator(sel).textContent()) || "";
}

/** Runs in the page before its scripts: each `/v1/events` stream the page opens passes through
 *  a stream that the test can add text to (`window.__events.at(-1)(text)`), as if the server had
 *  sent it. */
export function injectableEvents() {
  const realFetch = window.fetch.bind(window);
  window.__events = [];
  window.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    const url = typeof input === "string" ? input : input.url;
    if (!url.includes("/v1/events") || !res.ok || !res.body) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream({
      start(controller) {
        window.__events.push((text) => controller.enqueue(new TextEncoder().encode(text)));
        (async () => {
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              controller.enqueue(value);
            }
            controller.close();
          } catch (e) {
            controller.error(e);
          }
        })();
      },
      cancel(reason) { return reader.cancel(reason); },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

