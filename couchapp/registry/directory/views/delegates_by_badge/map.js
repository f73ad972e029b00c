// Delegates by the code on their badge (unique; the service claims each badge), then id.
function (doc) {
  if (doc.type === 'delegate' && typeof doc.id === 'number' && typeof doc.badge === 'string') {
    emit([doc.badge, doc.id], null);
  }
}
