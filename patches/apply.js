#!/usr/bin/env node
// Applies every patches/*.patch (unified diffs, paths from the project root) to node_modules.
// Run by npm after each install (package.json "postinstall"); running it again changes nothing.
// Each hunk is found by its text, not its line numbers, and must match exactly once: a package
// that changed under a patch stops the install instead of leaving the engine unpatched.
"use strict";

var fs = require("fs");
var path = require("path");

var root = path.resolve(__dirname, "..");

function parsePatch(text) {
  var files = [];
  var file = null;
  var hunk = null;
  text.replace(/\n$/, "").split("\n").forEach(function (line) {
    if (line.indexOf("--- ") === 0) {
      return;
    }
    if (line.indexOf("+++ ") === 0) {
      file = {path: line.slice(4).replace(/^b\//, "").split("\t")[0], hunks: []};
      files.push(file);
      return;
    }
    if (line.indexOf("@@") === 0) {
      hunk = {before: [], after: []};
      file.hunks.push(hunk);
      return;
    }
    if (!hunk || line[0] === "\\") {
      return;
    }
    // An empty line is an empty context line whose leading space an editor trimmed.
    var kind = line === "" ? " " : line[0];
    var body = line.slice(1);
    if (kind === " " || kind === "-") {
      hunk.before.push(body);
    }
    if (kind === " " || kind === "+") {
      hunk.after.push(body);
    }
  });
  return files;
}

function occurrences(text, part) {
  return text.split(part).length - 1;
}

function applyFile(patchName, file) {
  var target = path.join(root, file.path);
  var text = fs.readFileSync(target, "utf8");
  var changed = false;
  file.hunks.forEach(function (hunk, i) {
    var before = hunk.before.join("\n") + "\n";
    var after = hunk.after.join("\n") + "\n";
    if (occurrences(text, after) === 1) {
      return;
    }
    if (occurrences(text, before) !== 1) {
      throw new Error(patchName + ": hunk " + (i + 1) + " does not apply to " + file.path +
        " (did the package change?)");
    }
    text = text.replace(before, function () { return after; });
    changed = true;
  });
  if (changed) {
    fs.writeFileSync(target, text);
  }
  return changed;
}

fs.readdirSync(__dirname).filter(function (name) {
  return /\.patch$/.test(name);
}).sort().forEach(function (name) {
  parsePatch(fs.readFileSync(path.join(__dirname, name), "utf8")).forEach(function (file) {
    var changed = applyFile(name, file);
    console.log((changed ? "patched " : "already patched ") + file.path + " (" + name + ")");
  });
});
