// json-logic-js's answers to cases.json (stdin), one per case, as JSON on stdout.
// Non-finite numbers become {"nonfinite": "NaN" | "Infinity" | "-Infinity"} (JSON has none).
var jl = require('json-logic-js');
var input = require('fs').readFileSync(0, 'utf8');
var cases = JSON.parse(input);
var out = cases.map(function (c) {
  try {
    var v = jl.apply(c[0], c[1]);
    return (typeof v === 'number' && !isFinite(v)) ? {nonfinite: String(v)} : v;
  } catch (e) {
    return {error: String(e)};
  }
});
process.stdout.write(JSON.stringify(out));
