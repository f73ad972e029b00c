function (doc) {
  if (doc.type === 'form' && doc.form) {
    emit(doc.formId, {
      _rev: doc._rev,
      label: doc.form.label || null,
      languages: doc.form.languages || [],
      createdAt: doc.createdAt || null,
      updatedAt: doc.updatedAt || null
    });
  }
}
