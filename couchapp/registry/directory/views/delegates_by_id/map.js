// Delegates in id order (the listing's cursor is the key).
function (doc) {
  if (doc.type === 'delegate' && typeof doc.id === 'number') {
    emit([doc.id], null);
  }
}
