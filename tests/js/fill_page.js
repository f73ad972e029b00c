// Drives the kiosk fill page in headless Chromium (Debian's, through playwright-core) from the
// first page to COMPLETED, as a person at a tablet would, keyboard and pointer; prints each
// step's checks as JSON for tests/test_fill_page.py and saves a screenshot.
// Usage: node fill_page.js <page url> <user> <password> <screenshot path> <user-data dir>
'use strict';

const { openKiosk, run } = require('./kiosk');

const [url, username, password, screenshot, userDataDir] = process.argv.slice(2);

async function main() {
  // A 10-inch tablet: landscape.
  const { context, page, consoleErrors } = await openKiosk(userDataDir, username, password,
    { width: 1280, height: 800 });
  const seen = [];
  try {
    await page.goto(url);
    const saved = () => page.locator('#fill[data-sync="saved"]').waitFor({ state: 'attached' });

    await page.getByRole('heading', { name: 'Visitor survey' }).waitFor();
    await page.getByRole('heading', { name: 'About you' }).waitFor();
    seen.push({ step: 'first page', progress: await page.locator('.progress').textContent() });

    // Next with the required name missing: refused, the error beside its item.
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('[data-id="question1"] .errors').waitFor();
    seen.push({
      step: 'next refused',
      heading: await page.locator('h2').textContent(),
      error: await page.locator('[data-id="question1"] .errors').textContent(),
      notice: await page.locator('.notice').textContent(),
    });
    await page.getByLabel('Red').check();
    await saved();
    await page.screenshot({ path: screenshot, fullPage: false });

    await page.getByLabel('Name').fill('Ann');
    await page.getByLabel('Red').check();
    await page.getByLabel('Blue').check();
    await page.locator('input[data-item="age"]').focus();
    await page.keyboard.type('-3');
    await page.locator('[data-id="age"] .errors').waitFor();
    seen.push({ step: 'age invalid', error: await page.locator('[data-id="age"] .errors').textContent() });
    await page.locator('input[data-item="age"]').fill('42');
    await page.locator('[data-id="age"] .errors').waitFor({ state: 'detached' });
    await saved();
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('group', { name: 'Colleagues' }).waitFor();
    seen.push({ step: 'page2', progress: await page.locator('.progress').textContent() });
    await page.getByRole('button', { name: 'Add row' }).click();
    await page.locator('[data-row="group2[1]"]').waitFor();
    await page.getByRole('button', { name: 'Add row' }).click();
    await page.locator('[data-row="group2[2]"]').waitFor();
    await page.getByRole('button', { name: 'Remove 1' }).click();
    await page.locator('[data-row="group2[1]"]').waitFor({ state: 'detached' });
    // Complete with the row's required answer missing: refused, the error shown.
    await page.getByRole('button', { name: 'Complete' }).click();
    await page.locator('[data-id="group2[2].question3"] .errors').waitFor();
    seen.push({ step: 'complete refused', rows: await page.locator('[data-row]').count() });
    await page.locator('input[data-item="group2[2].question3"]').fill('Bob');
    await page.locator('input[data-item="group2[2].question4"]').fill('Sales');
    // Keyboard: to the Complete button and Enter, at once: it waits for the answers to be saved.
    await page.getByRole('button', { name: 'Complete' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Completed' }).waitFor();
    seen.push({ step: 'completed', text: await page.locator('.completed').textContent() });
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify({ seen, consoleErrors }));
}

run(main);
