// Applied after every install (package.json "postinstall", Makefile PATCH_ENGINE), after
// patches/apply.js: PouchDB Server's validation plugin reads and
// parses every design document of the database once for EACH document of a _bulk_docs request,
// even when none has a validate_doc_update. That made a 1,000-document _bulk_docs about twice
// as slow on a database with design documents as on one without. Apache CouchDB reads them once.
// The patch reads them once per request. Idempotent; fails loudly if the plugin changed.
"use strict";

var fs = require("fs");
var path = require("path");

var file = path.join(__dirname, "..", "node_modules", "pouchdb-validation", "lib", "index.js");
var MARK = "// settee: design documents read once per request";
var source = fs.readFileSync(file, "utf8");

if (source.indexOf(MARK) === -1) {
  var edits = [
    ["  return getValidationFunctions(db).then(function (validationFuncs) {",
     "  return getValidationFunctions(db, options).then(function (validationFuncs) {"],
    ["function getValidationFunctions(db) {\n  return db.allDocs({",
     MARK + "\nvar functionsOfRequest = new WeakMap();\n\n" +
     "function getValidationFunctions(db, options) {\n" +
     "  if (!options || typeof options !== \"object\") {\n" +
     "    return readValidationFunctions(db);\n  }\n" +
     "  var known = functionsOfRequest.get(options);\n" +
     "  if (known) {\n    return known;\n  }\n" +
     "  known = readValidationFunctions(db);\n" +
     "  functionsOfRequest.set(options, known);\n" +
     "  return known;\n}\n\n" +
     "function readValidationFunctions(db) {\n  return db.allDocs({"]
  ];
  edits.forEach(function (edit) {
    if (source.indexOf(edit[0]) === -1) {
      throw new Error("patches/validation-once-per-request.js: " + file + " changed; review the patch");
    }
    source = source.replace(edit[0], edit[1]);
  });
  fs.writeFileSync(file, source);
}
