function (doc) {
  // A device-only caller's interactions, ordered by id: ['device', firstDevice, id] (the device
  // that recorded it) and ['user', createdBy, id] (a device user bound to no device). Its own
  // design document, so that adding it rebuilt none of the other interaction views.
  // The value is what the listing filters on without reading documents:
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
  if (typeof doc.firstDevice === 'number') { emit(['device', doc.firstDevice, doc.id], value); }
  if (typeof doc.createdBy === 'string') { emit(['user', doc.createdBy, doc.id], value); }
}
