// Rows keyed so that each range is ordered by interaction id (a cursor is a start key).
// The value is what the listing filters on without reading documents:
// [interactionType, recordedAt, updatedAt, delegate ids, device ids].
function (doc) {
  if (doc.type !== 'interaction' || typeof doc.id !== 'number') { return; }
  var delegates = [], devices = [];
  ['firstDelegate', 'secondDelegate', 'thirdDelegate'].forEach(function (k) {
    if (typeof doc[k] === 'number' && delegates.indexOf(doc[k]) === -1) { delegates.push(doc[k]); }
  });
  ['firstDevice', 'secondDevice', 'thirdDevice'].forEach(function (k) {
    if (typeof doc[k] === 'number' && devices.indexOf(doc[k]) === -1) { devices.push(doc[k]); }
  });
  var value = [doc.interactionType, doc.recordedAt || null, doc.updatedAt, delegates, devices];
  emit([doc.id], value);
}
