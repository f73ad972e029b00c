// Fills a Settee session through @dialob/fill-api itself, as a Dialob filling UI would, and
// prints what the client saw at each step (one JSON document) for tests/test_dialob_fill.py.
// Usage: node fill_session.js <endpoint> <sessionId> <Authorization header value>
'use strict';

globalThis.window = globalThis; // fill-api calls window.fetch: Node 20's global fetch serves

const DialobFill = require('@dialob/fill-api');

const [endpoint, sessionId, authorization] = process.argv.slice(2);

const session = DialobFill.newSession(sessionId, {
  endpoint,
  transport: { mode: 'rest', credentials: 'omit', headers: { Authorization: authorization } },
}, { syncWait: -1 });

const failures = [];
session.on('error', (type, error) => failures.push(`${type}: ${error.message} ${error.code || ''}`));

// Until every queued action is answered: the library syncs one request at a time.
function idle() {
  return new Promise((resolve) => {
    const check = () => {
      const queue = session.syncQueue;
      if (!queue.inSync && queue.syncActionQueue.length === 0 && !queue.syncTimer) {
        resolve();
      } else {
        setTimeout(check, 5);
      }
    };
    check();
  });
}

function snapshot(step) {
  const root = session.getAllItems().find((item) => item.type === 'questionnaire');
  const errors = {};
  for (const [id, list] of Object.entries(session.state.errors)) {
    if (list.length) errors[id] = list.map((e) => e.code);
  }
  return {
    step,
    locale: session.getLocale(),
    activeItem: root && root.activeItem,
    availableItems: root && root.availableItems,
    allowedActions: root && root.allowedActions,
    page: root && session.getItem(root.activeItem),
    items: Object.fromEntries(session.getAllItems().map((item) => [item.id, item])),
    errors,
    valueSets: session.state.valueSets,
    variables: session.state.variables,
    complete: session.isComplete(),
  };
}

async function main() {
  const steps = [];
  await session.pull();
  steps.push(snapshot('pulled'));

  session.next(); // refused: question1 is required
  await idle();
  steps.push(snapshot('next refused'));

  session.setAnswer('question1', 'Ann');
  session.setAnswer('question2', ['a', 'b']);
  session.setAnswer('age', -1);
  session.next(); // refused: age fails its validation
  await idle();
  steps.push(snapshot('answered, age invalid'));

  session.setAnswer('age', 30);
  session.next();
  await idle();
  steps.push(snapshot('page2'));

  session.addRowToGroup('group2');
  await idle();
  session.addRowToGroup('group2');
  await idle();
  steps.push(snapshot('two rows'));

  session.deleteRow('group2[1]');
  session.setAnswer('group2[2].question3', 'Bob');
  session.setAnswer('group2[2].question4', 'Sales');
  await idle();
  steps.push(snapshot('row answered'));

  session.setLocale('fi');
  await idle();
  steps.push(snapshot('finnish'));

  session.complete();
  await idle();
  steps.push(snapshot('completed'));

  process.stdout.write(JSON.stringify({ steps, failures }));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
