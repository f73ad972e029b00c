function (doc) {
  // Records with conflicting revisions (offline devices, a cluster): the arrival checks
  // resolve what a documented rule can; what stays here needs an operator.
  if (doc._conflicts && doc._conflicts.length) {
    emit([doc.type || null, doc._id], doc._conflicts);
  }
}
