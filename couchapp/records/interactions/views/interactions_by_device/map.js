// Rows keyed so that each range is ordered by interaction id (a cursor is a start key).
function (doc) {
  // !code lib/interaction_row.js
  devices.forEach(function (d) { emit([d, doc.id], value); });
}
