// Questionnaire sessions for GET /api/questionnaires, oldest first, under every combination of
// the listing's filters: [combination, ...its values, createdAt]. Combination "f" = formId,
// "s" = status, "o" = owner, "all" = none (one view serves all eight listings); "r" = formId and
// the exact form revision (a form's tag names one), with status and owner as "f".
function (doc) {
  if (doc.type !== 'questionnaire' || !doc.metadata) {
    return;
  }
  var f = doc.metadata.formId;
  var s = doc.metadata.status;
  var o = doc.owner || null;
  var t = doc.createdAt;
  emit(['all', t], null);
  emit(['f', f, t], null);
  emit(['s', s, t], null);
  emit(['o', o, t], null);
  emit(['fs', f, s, t], null);
  emit(['fo', f, o, t], null);
  emit(['so', s, o, t], null);
  emit(['fso', f, s, o, t], null);
  var r = doc.metadata.formRevision;
  emit(['r', f, r, t], null);
  emit(['rs', f, r, s, t], null);
  emit(['ro', f, r, o, t], null);
  emit(['rso', f, r, s, o, t], null);
}
