#!/usr/bin/env node
// A device as the tests drive it: a PouchDB in memory that pulls a database by replication,
// writes the documents given on stdin (each merged into the device's copy, if it has one),
// and pushes by replication. Prints what the push reported and the device's revisions.
// Usage: ENGINE_USER=... ENGINE_PASSWORD=... node device_sync.js <database url> < writes.json
"use strict";

var PouchDB = require("pouchdb-core")
  .plugin(require("pouchdb-adapter-memory"))
  .plugin(require("pouchdb-adapter-http"))
  .plugin(require("pouchdb-replication"));

function readStdin() {
  return new Promise(function (resolve, reject) {
    var chunks = [];
    process.stdin.on("data", function (chunk) { chunks.push(chunk); });
    process.stdin.on("end", function () { resolve(JSON.parse(Buffer.concat(chunks))); });
    process.stdin.on("error", reject);
  });
}

function write(device, changes) {
  return device.get(changes._id).catch(function () {
    return {};
  }).then(function (current) {
    return device.put(Object.assign({}, current, changes));
  });
}

async function main() {
  var remote = new PouchDB(process.argv[2], {
    auth: {username: process.env.ENGINE_USER, password: process.env.ENGINE_PASSWORD},
    skip_setup: true
  });
  var device = new PouchDB("device", {adapter: "memory"});
  await device.replicate.from(remote);
  var writes = await readStdin();
  var revs = {};
  for (var i = 0; i < writes.length; i++) {
    revs[writes[i]._id] = (await write(device, writes[i])).rev;
  }
  var push = await device.replicate.to(remote);
  process.stdout.write(JSON.stringify({
    status: push.status,
    docs_written: push.docs_written,
    doc_write_failures: push.doc_write_failures,
    revs: revs
  }) + "\n");
}

main().catch(function (err) {
  process.stderr.write(String(err && err.stack || JSON.stringify(err)) + "\n");
  process.exit(1);
});
