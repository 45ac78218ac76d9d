"""``fk status`` of a local deployment (:mod:`faaskeeper_local.deploy.status`); ``fk deploy`` creates
the file (:func:`faaskeeper_local.deployment.create_deployment`)."""
