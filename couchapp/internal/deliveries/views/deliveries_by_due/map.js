// submitUrl deliveries the worker may take, by when: pending ones at their next attempt,
// claimed ones when their claim expires (the process that claimed them may have died).
function (doc) {
  if (doc.type !== 'delivery') {
    return;
  }
  if (doc.state === 'pending') {
    emit(doc.nextAttemptAt, null);
  } else if (doc.state === 'delivering') {
    emit(doc.leaseUntil, null);
  }
}
