#!/usr/bin/env node
// An event device as the tests drive it: stock PouchDB (memory or on-disk) with its provisioned
// set-up, doing what a kiosk or a scanner app does: pull the catalog and its own database, record
// interactions and questionnaire sessions offline with ids from its blocks, push or sync.
//
// Usage: node device.mjs '<json>' where json is
//   {"setup": <POST /device/id:{id}/provision's data>, "adapter": "memory" | "leveldb",
//    "dir": <folder for leveldb>, "pouchdb": "7" | "9", "steps": [{"do": <step>, ...}, ...]}
// "pouchdb": "9" runs the `pouchdb` package of PouchDB 9, what a device app installs today; the
// default assembles PouchDB 7 from the modules PouchDB Server itself is built of.
// Each step prints one JSON line {"step": <name>, ...}; a push with "progress" also prints
// {"progress": <documents written so far>} after every batch. A step that fails prints
// {"step": <name>, "error": <HTTP status or name>, "message": ...} and the next steps still run.
// Every step line also says when the step started and ended (startedAt, endedAt: ms since 1970).

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const config = JSON.parse(process.argv[2]);

async function pouchdb() {
  if (config.pouchdb === '9') {
    const PouchDB = (await import('pouchdb9')).default;
    return PouchDB.plugin((await import('pouchdb9-adapter-memory')).default);
  }
  const PouchDB = (await import('pouchdb-core')).default;
  for (const name of ['pouchdb-adapter-memory', 'pouchdb-adapter-leveldb', 'pouchdb-adapter-http',
    'pouchdb-replication']) {
    PouchDB.plugin((await import(name)).default);
  }
  return PouchDB;
}

const PouchDB = await pouchdb();
const setup = config.setup;
const auth = { username: setup.user, password: setup.password };

function local(name) {
  if (config.adapter === 'leveldb') {
    mkdirSync(config.dir, { recursive: true });
    return new PouchDB(path.join(config.dir, name), { adapter: 'leveldb' });
  }
  return new PouchDB(`${name}-${randomBytes(6).toString('hex')}`, { adapter: 'memory' });
}

// skip_setup: a device may not create databases; without it PouchDB tries to.
function remote(url) {
  return new PouchDB(url, { auth, skip_setup: true });
}

const catalog = local('catalog');
const records = local('records');

function stamp(offsetSeconds = 0) {
  return new Date(Date.now() + offsetSeconds * 1000).toISOString().replace('Z', '+00:00');
}

function padded(id) {
  return String(id).padStart(10, '0');
}

async function byType(db) {
  const all = await db.allDocs({ include_docs: true });
  const found = {};
  for (const row of all.rows) {
    if (row.id.startsWith('_design/')) continue;
    (found[row.doc.type] ||= []).push(row.doc);
  }
  return found;
}

function summary(result) {
  const { ok, docs_read, docs_written, doc_write_failures } = result;
  const errors = (result.errors || []).map((e) => ({ id: e.id, name: e.name, message: e.message }));
  return { ok, docs_read, docs_written, doc_write_failures, errors };
}

// Ids come from the blocks on its `deviceConfig`, in order; `_local/ids` (never replicated)
// remembers the next one, so a restart of the app never reuses an id.
async function takeIds(count) {
  const deviceConfig = await records.get('deviceConfig');
  let state;
  try {
    state = await records.get('_local/ids');
  } catch {
    state = { _id: '_local/ids', next: 0 };
  }
  const ids = [];
  for (const block of deviceConfig.idBlocks) {
    for (let id = Math.max(block.first, state.next); id <= block.last && ids.length < count; id++) {
      ids.push(id);
    }
  }
  if (ids.length < count) {
    throw new Error(`out of ids: ${ids.length} of ${count} left; ask for the next block online`);
  }
  state.next = ids[ids.length - 1] + 1;
  await records.put(state);
  return ids;
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64');

function interaction(id, kind, delegate, data, when) {
  return {
    _id: `interaction:${padded(id)}`, type: 'interaction', id, interactionType: kind,
    firstDelegate: delegate, firstDevice: setup.device, data,
    recordedAt: when, createdAt: when, updatedAt: when, createdBy: setup.user,
  };
}

function newestRevision(docs, formId) {
  const revisions = (docs['form-revision'] || []).filter((r) => r.formId === formId)
    .sort((a, b) => (a.savedAt < b.savedAt ? -1 : 1));
  if (!revisions.length) throw new Error(`no revision of form ${formId} in the catalog`);
  return revisions[revisions.length - 1];
}

// `interactions` records, one delegate after another from the catalog: a check-in for each
// delegate's first visit, then leads with notes, every `uploadEvery`-th an upload (a badge
// photo, as an attachment); `sessions` questionnaire sessions on the form `formId`, created,
// answered with `answers` and completed, as the app does offline.
async function record(step) {
  const docs = await byType(catalog);
  const delegates = (docs.delegate || []).map((d) => d.id).sort((a, b) => a - b);
  const ids = await takeIds(step.interactions || 0);
  const written = [];
  const checkedIn = new Set();
  for (const [index, id] of ids.entries()) {
    const delegate = delegates[index % delegates.length];
    const when = stamp(index / 1000);
    let doc;
    if (!checkedIn.has(delegate)) {
      checkedIn.add(delegate);
      doc = interaction(id, 'check-in', delegate, { session: 'Hall A' }, when);
    } else if (step.uploadEvery && index % step.uploadEvery === 0) {
      doc = interaction(id, 'upload', delegate, { fileName: `badge-${id}.png`, contentType: 'image/png' }, when);
      doc._attachments = { upload: { content_type: 'image/png', data: PNG.toString('base64') } };
    } else {
      doc = interaction(id, 'lead', delegate, { notes: `met at the stand, visit ${index}` }, when);
    }
    written.push(doc);
  }
  for (let start = 0; start < written.length; start += 500) {
    const results = await records.bulkDocs(written.slice(start, start + 500));
    const failed = results.filter((r) => r.error);
    if (failed.length) throw new Error(`local write failed: ${JSON.stringify(failed[0])}`);
  }
  const sessions = [];
  if (step.sessions) {
    const revision = newestRevision(docs, step.formId);
    for (let n = 0; n < step.sessions; n++) {
      sessions.push(await completeSession(revision.formId, revision.formRev, step));
    }
  }
  return { interactions: ids.length, first: ids[0], last: ids[ids.length - 1], sessions };
}

async function openSession(formId, formRev, step) {
  const created = stamp();
  const session = {
    _id: randomBytes(16).toString('hex'), type: 'questionnaire', owner: setup.user,
    createdAt: created, updatedAt: created, answers: [], answeredAt: {}, tables: [],
    context: step.context || [], activeItem: null, rowCounters: {},
    metadata: {
      formId, formRev, formRevision: formRev, created, lastAnswer: null, label: null,
      submitUrl: step.submitUrl || null, status: 'OPEN', language: 'en',
    },
  };
  await records.put(session);
  return session._id;
}

// Each answer replaces the one of its id, stamped with when it was given (`at`, or now).
async function answer(id, answers, complete) {
  const session = await records.get(id);
  const given = new Map(session.answers.map((a) => [a.id, a]));
  const answeredAt = { ...session.answeredAt };
  for (const { at, ...entry } of answers) {
    given.set(entry.id, entry);
    answeredAt[entry.id] = at || stamp();
  }
  const last = Object.values(answeredAt).sort().pop() || null;
  const status = complete ? 'COMPLETED' : session.metadata.status;
  await records.put({
    ...session, answers: [...given.values()], answeredAt, updatedAt: stamp(),
    metadata: { ...session.metadata, lastAnswer: last, status },
  });
}

async function completeSession(formId, formRev, step) {
  const id = await openSession(formId, formRev, step);
  await answer(id, step.answers || [], true);
  return id;
}

async function replicate(source, target, step) {
  const replication = PouchDB.replicate(source, target, { batch_size: step.batchSize || 100 });
  if (step.progress) {
    replication.on('change', (info) => {
      process.stdout.write(JSON.stringify({ progress: info.docs_written }) + '\n');
    });
  }
  return summary(await replication);
}

const steps = {
  // The catalog and its own database (its configuration: the id blocks).
  async pull(step) {
    const fromCatalog = await replicate(remote(setup.sync.catalog), catalog, step);
    const fromRecords = await replicate(remote(setup.sync.records), records, step);
    const docs = await byType(catalog);
    const counts = Object.fromEntries(Object.entries(docs).map(([t, list]) => [t, list.length]));
    const delegateFields = [...new Set((docs.delegate || []).flatMap((d) => Object.keys(d)))].sort();
    const deviceConfig = await records.get('deviceConfig');
    return { catalog: fromCatalog, records: fromRecords, counts, delegateFields,
             idBlocks: deviceConfig.idBlocks };
  },
  record,
  async push(step) {
    return replicate(records, remote(setup.sync.records), step);
  },
  async sync(step) {
    const result = await PouchDB.sync(records, remote(setup.sync.records),
                                      { batch_size: step.batchSize || 100 });
    return { push: summary(result.push), pull: summary(result.pull) };
  },
  // Documents written locally as given (the app's bugs, or a tampered device).
  async write(step) {
    const results = await records.bulkDocs(step.docs);
    return { results: results.map((r) => ({ id: r.id, ok: !!r.ok, error: r.error || null })) };
  },
  async openSession(step) {
    const revision = newestRevision(await byType(catalog), step.formId);
    return { id: await openSession(revision.formId, revision.formRev, step) };
  },
  async answer(step) {
    await answer(step.id, step.answers, !!step.complete);
    return {};
  },
  async edit(step) {
    const current = await records.get(step.id);
    const result = await records.put({ ...current, ...step.set });
    return { id: result.id, rev: result.rev };
  },
  async get(step) {
    return { doc: await records.get(step.id, { conflicts: true }) };
  },
  // Another database, with this device's credentials: read it, or write into it.
  async pullFrom(step) {
    return replicate(remote(step.url), local('elsewhere'), step);
  },
  async pushTo(step) {
    return replicate(records, remote(step.url), step);
  },
  // POST /device/id:{id}/idblocks on the service, then the new blocks arrive with a pull.
  async askBlock(step) {
    const resp = await fetch(`${step.service}/device/id:${setup.device}/idblocks`, {
      method: 'POST',
      headers: { Authorization: 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64') },
    });
    if (resp.status !== 201) return { error: resp.status, message: await resp.text() };
    return { idBlocks: (await resp.json()).data.idBlocks };
  },
};

for (const step of config.steps) {
  let answer;
  const startedAt = Date.now();
  try {
    answer = await steps[step.do](step);
  } catch (err) {
    answer = { error: err.status || err.name, message: err.message || String(err) };
  }
  process.stdout.write(JSON.stringify({ step: step.do, ...answer, startedAt, endedAt: Date.now() }) + '\n');
}
