function (newDoc, oldDoc, userCtx, secObj) {
  // The engine's own guard on what devices record and push (interactions, questionnaire sessions).
  // Here: authority (who may write what) and the invariants a replicating device could break
  // (type present and known, `_type` never stored, type and createdAt never changed).
  // In the service: the full JSON Schemas and the rules a device cannot check offline; it
  // re-checks every replicated document from the _changes feed.
  var roles = userCtx.roles || [];
  var isAdmin = roles.indexOf('_admin') !== -1 || roles.indexOf('settee:admin') !== -1;

  // Design documents are the service's (deployed as a server admin); CouchDB validates them too.
  if (newDoc._id.indexOf('_design/') === 0) {
    if (roles.indexOf('_admin') === -1) {
      throw({forbidden: 'only server admins may change design documents'});
    }
    return;
  }
  var isDevice = roles.indexOf('settee:device') !== -1;
  var recordTypes = ['interaction', 'questionnaire'];

  if (!isAdmin && !isDevice) {
    throw({forbidden: 'only admins and devices may write records'});
  }
  if (newDoc._deleted) {
    if (!isAdmin) {
      throw({forbidden: 'only admins may delete records'});
    }
    return;
  }
  if (newDoc._type !== undefined) {
    throw({forbidden: '_type is not a stored field: use type'});
  }
  if (typeof newDoc.type !== 'string' || newDoc.type === '') {
    throw({forbidden: 'type is required'});
  }
  if (!isAdmin && recordTypes.indexOf(newDoc.type) === -1) {
    throw({forbidden: 'devices may write only these types: ' + recordTypes.join(', ')});
  }
  if (typeof newDoc.createdAt !== 'string' || typeof newDoc.updatedAt !== 'string') {
    throw({forbidden: 'createdAt and updatedAt are required'});
  }
  if (oldDoc && !oldDoc._deleted) {
    if (oldDoc.type !== newDoc.type) {
      throw({forbidden: 'type cannot change'});
    }
    if (oldDoc.createdAt !== newDoc.createdAt) {
      throw({forbidden: 'createdAt cannot change'});
    }
  }
}
