function (newDoc, oldDoc, userCtx, secObj) {
  // The catalog: what every device pulls (delegates' kiosk fields, devices, interaction types,
  // forms). The service writes it from the registry as a server admin; devices only read it.
  // Everything else about these documents is checked in the service, where they come from.
  var roles = userCtx.roles || [];
  if (roles.indexOf('_admin') === -1) {
    throw({forbidden: 'the catalog is written by the service only'});
  }
}
