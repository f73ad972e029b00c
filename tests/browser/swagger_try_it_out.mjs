// Swagger UI in headless Chromium: authorise with HTTP Basic, then "Try it out" and "Execute"
// each operation named on the command line with the example it shows; print the statuses seen.
// Usage: node swagger_try_it_out.mjs <service url> <user> <password> <METHOD /path>...
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, user, password, ...operations] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "settee-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const result = { statuses: {}, errors: [] };
try {
  const page = await context.newPage();
  page.on("pageerror", (error) => result.errors.push(String(error)));
  await page.goto(`${url}/api/docs/`);
  await page.locator(".opblock").first().waitFor();

  await page.locator("button.authorize").first().click();
  const basic = page.locator(".auth-container").filter({ hasText: "basic" });
  await basic.locator("input").nth(0).fill(user);
  await basic.locator("input[type=password]").fill(password);
  await basic.locator("button.authorize").click();
  await page.locator("button.btn-done").first().click();

  for (const operation of operations) {
    // "open METHOD /path" only opens the operation (its body schema resolved, nothing sent).
    const openOnly = operation.startsWith("open ");
    const [method, path] = operation.replace(/^open /, "").split(" ");
    const block = page.locator(`.opblock-${method.toLowerCase()}`)
      .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
    await block.locator(".opblock-summary").first().click();
    await block.locator(".opblock-body").waitFor();
    if (openOnly) {
      await block.locator(".model-example, .body-param, .opblock-description-wrapper").first().waitFor();
      result.errors.push(...await block.locator(".errors-wrapper, .resolver-error").allInnerTexts());
      continue;
    }
    await block.locator("button.try-out__btn").click();
    await block.locator("button.execute").click();
    const status = block.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    result.statuses[operation] = (await status.innerText()).trim();
  }
  // Panels Swagger UI shows for a document it cannot read (resolver errors, warnings).
  result.errors.push(...await page.locator(".errors-wrapper").allInnerTexts());
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
