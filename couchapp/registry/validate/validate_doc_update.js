function (newDoc, oldDoc, userCtx, secObj) {
  // The engine's own guard on the registry (delegates, devices, forms): what devices pull.
  // Here: authority (only admins write; devices and readers only read) and the invariants
  // that keep documents readable in Fauxton (type present, `_type` never stored).
  // In the service: the full JSON Schemas (fields, uniqueness of badges, form rules).
  var roles = userCtx.roles || [];
  var isAdmin = roles.indexOf('_admin') !== -1 || roles.indexOf('settee:admin') !== -1;

  // Design documents are the service's (deployed as a server admin); CouchDB validates them too.
  if (newDoc._id.indexOf('_design/') === 0) {
    if (roles.indexOf('_admin') === -1) {
      throw({forbidden: 'only server admins may change design documents'});
    }
    return;
  }

  if (!isAdmin) {
    throw({forbidden: 'only admins may change the registry'});
  }
  if (newDoc._deleted) {
    return;
  }
  if (newDoc._type !== undefined) {
    throw({forbidden: '_type is not a stored field: use type'});
  }
  if (typeof newDoc.type !== 'string' || newDoc.type === '') {
    throw({forbidden: 'type is required'});
  }
  if (oldDoc && !oldDoc._deleted && oldDoc.type !== newDoc.type) {
    throw({forbidden: 'type cannot change'});
  }
}
