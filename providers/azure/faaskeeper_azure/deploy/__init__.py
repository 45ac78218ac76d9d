"""``fk deploy``, ``fk remove`` and ``fk status`` on Azure.

- :mod:`faaskeeper_azure.deploy.resources`: the Cosmos DB database and containers, blob containers
  and Storage Queues (on the emulators), and the state a deployment starts from;
- :mod:`faaskeeper_azure.deploy.cloud`, :mod:`faaskeeper_azure.deploy.template`,
  :mod:`faaskeeper_azure.deploy.package`: what only a subscription has (the ARM template, the
  functions' zip package), behind one seam;
- :mod:`faaskeeper_azure.deploy.cloud_options`: where and how a subscription's deployment is made;
- :mod:`faaskeeper_azure.deploy.options`: ``fk deploy --azure-*``;
- :mod:`faaskeeper_azure.deploy.status`: ``fk status``.
"""
