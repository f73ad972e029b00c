function (doc) {
  // What the arrival checks found about a replicated record, newest last: open this view in
  // Fauxton to see every record flagged (`quarantined`: not copied; `violation`: copied, a
  // rule broken) or resolved.
  if (doc.type !== 'flag') { return; }
  emit([doc.state, doc.updatedAt], {docId: doc.docId, device: doc.device, problems: doc.problems});
}
