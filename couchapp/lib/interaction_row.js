  // What a listing filters on without reading documents (the row's value):
  // [interactionType, recordedAt, updatedAt, delegate ids, device ids].
  if (doc.type !== 'interaction' || typeof doc.id !== 'number') { return; }
  var delegates = [], devices = [];
  ['firstDelegate', 'secondDelegate', 'thirdDelegate'].forEach(function (k) {
    if (typeof doc[k] === 'number' && delegates.indexOf(doc[k]) === -1) { delegates.push(doc[k]); }
  });
  ['firstDevice', 'secondDevice', 'thirdDevice'].forEach(function (k) {
    if (typeof doc[k] === 'number' && devices.indexOf(doc[k]) === -1) { devices.push(doc[k]); }
  });
  var value = [doc.interactionType, doc.recordedAt || null, doc.updatedAt, delegates, devices];
