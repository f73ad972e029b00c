// What the fill page's browser scripts share: headless Debian Chromium with the flags this
// machine needs, logged in with HTTP Basic, its console errors collected, and one way to run.
'use strict';

const { chromium } = require('playwright-core');

async function openKiosk(userDataDir, username, password, viewport) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
    httpCredentials: { username, password },
    viewport,
    deviceScaleFactor: 1,
  });
  const consoleErrors = [];
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  return { context, page, consoleErrors };
}

function run(main) {
  main().catch((error) => {
    process.stderr.write(String((error && error.stack) || error));
    process.exit(1);
  });
}

module.exports = { openKiosk, run };
