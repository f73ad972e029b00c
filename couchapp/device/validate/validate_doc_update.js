function (newDoc, oldDoc, userCtx, secObj) {
  // A device's own database: what it records offline and pushes by replication.
  // Here: authority and the invariants a device could break while offline: it writes only
  // interactions and questionnaire sessions of its own (its device id in `firstDevice`, its
  // user as a session's `owner`), with a well-formed id, never deletes, never changes a
  // record's type, id, createdAt or owner, and never touches the service's documents.
  // In the service, on arrival (service/sync/): the full JSON Schemas, its id blocks,
  // participants, limit rules, conflicts; what fails there is flagged, never dropped.
  var roles = userCtx.roles || [];
  if (roles.indexOf('_admin') !== -1) {
    return;  // the service (provisioning, an admin's deletion) and operators
  }
  if (newDoc._id.indexOf('_design/') === 0) {
    throw({forbidden: 'only server admins may change design documents'});
  }
  var device = null;
  for (var i = 0; i < roles.length; i++) {
    var match = /^settee:device:([0-9]+)$/.exec(roles[i]);
    if (match) {
      device = parseInt(match[1], 10);
    }
  }
  if (device === null) {
    throw({forbidden: 'only its device writes a device database'});
  }
  if (newDoc._deleted) {
    throw({forbidden: 'devices do not delete records; an admin does, through the service'});
  }
  if (newDoc._type !== undefined) {
    throw({forbidden: '_type is not a stored field: use type'});
  }
  if (typeof newDoc.createdAt !== 'string' || typeof newDoc.updatedAt !== 'string') {
    throw({forbidden: 'createdAt and updatedAt are required'});
  }
  if (newDoc.type === 'interaction') {
    var id = newDoc.id;
    if (typeof id !== 'number' || id % 1 !== 0 || id < 1 || id > 9999999999) {
      throw({forbidden: 'id must be a positive integer of at most 10 digits'});
    }
    var padded = String(id);
    while (padded.length < 10) {
      padded = '0' + padded;
    }
    if (newDoc._id !== 'interaction:' + padded) {
      throw({forbidden: '_id must be interaction:' + padded});
    }
    if (newDoc.firstDevice !== device) {
      throw({forbidden: 'firstDevice must be this device, ' + device});
    }
    if (typeof newDoc.interactionType !== 'string' || newDoc.interactionType === '') {
      throw({forbidden: 'interactionType is required'});
    }
  } else if (newDoc.type === 'questionnaire') {
    if (newDoc.owner !== userCtx.name) {
      throw({forbidden: 'owner must be this device\'s user, ' + userCtx.name});
    }
    if (typeof newDoc.metadata !== 'object' || newDoc.metadata === null ||
        typeof newDoc.metadata.formId !== 'string') {
      throw({forbidden: 'metadata.formId is required'});
    }
  } else {
    throw({forbidden: 'devices write only interactions and questionnaire sessions'});
  }
  if (oldDoc && !oldDoc._deleted) {
    var fixed = ['type', 'id', 'createdAt', 'owner', 'interactionType', 'firstDevice'];
    for (var f = 0; f < fixed.length; f++) {
      if (JSON.stringify(oldDoc[fixed[f]]) !== JSON.stringify(newDoc[fixed[f]])) {
        throw({forbidden: fixed[f] + ' cannot change'});
      }
    }
  }
}
