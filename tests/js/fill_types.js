// Answers every item type of the form format on the kiosk fill page in headless Chromium (in
// the session's language, Finnish), then completes; prints what the page showed as JSON for
// tests/test_fill_page.py.
// Usage: node fill_types.js <page url> <user> <password> <user-data dir>
'use strict';

const { openKiosk, run } = require('./kiosk');

const [url, username, password, userDataDir] = process.argv.slice(2);

async function main() {
  // A 10-inch tablet: portrait.
  const { context, page, consoleErrors } = await openKiosk(userDataDir, username, password,
    { width: 800, height: 1280 });
  const seen = {};
  try {
    await page.goto(url);
    await page.getByRole('heading', { name: 'Kaikki tyypit' }).waitFor();
    seen.lang = await page.evaluate(() => document.documentElement.lang);
    seen.note = await page.locator('.note').textContent();
    seen.group = await page.getByRole('group', { name: 'Yhteystiedot' }).count();
    seen.inputs = await page.evaluate(() => Array.from(document.querySelectorAll('input[data-item]'))
      .map((input) => [input.getAttribute('data-item'), input.type, input.getAttribute('inputmode')]));
    seen.button = await page.locator('nav button.primary').textContent();

    await page.getByLabel('Nimesi').fill('Ann');
    await page.getByLabel('Käynnit').fill('3');
    await page.getByLabel('Budjetti').fill('12.5');
    await page.getByRole('radiogroup').first().getByLabel('Kyllä').check();
    await page.getByLabel('Päivä').fill('2026-05-01');
    await page.getByLabel('Saapui').fill('09:30');
    await page.locator('[data-id="size"]').getByLabel('Suuri').check();
    await page.locator('[data-id="extras"]').getByLabel('Suuri').check();
    await page.locator('[data-id="extras"]').getByLabel('Pieni').check();
    await page.getByRole('button', { name: 'Valmis' }).click();
    await page.locator('.completed h1').waitFor();
    await page.getByRole('heading', { name: 'Valmis' }).waitFor();
    seen.completed = await page.locator('.completed').textContent();
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify({ seen, consoleErrors }));
}

run(main);
