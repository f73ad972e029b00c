function (doc) {
  // A device-only caller's interactions, ordered by id: ['device', firstDevice, id] (the device
  // that recorded it) and ['user', createdBy, id] (a device user bound to no device). Its own
  // design document, so that adding it rebuilt none of the other interaction views.
  // !code lib/interaction_row.js
  if (typeof doc.firstDevice === 'number') { emit(['device', doc.firstDevice, doc.id], value); }
  if (typeof doc.createdBy === 'string') { emit(['user', doc.createdBy, doc.id], value); }
}
