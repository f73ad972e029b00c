// Devices in id order (the listing's cursor is the key).
function (doc) {
  if (doc.type === 'device' && typeof doc.id === 'number') {
    emit([doc.id], null);
  }
}
