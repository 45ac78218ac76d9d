"""``fk deploy``, ``fk remove`` and ``fk status`` on GCP.

- :mod:`faaskeeper_gcp.deploy.resources`: the topics, subscriptions and documents;
- :mod:`faaskeeper_gcp.deploy.cloud`, :mod:`faaskeeper_gcp.deploy.cloud_apis`,
  :mod:`faaskeeper_gcp.deploy.cloud_functions`, :mod:`faaskeeper_gcp.deploy.scheduler`,
  :mod:`faaskeeper_gcp.deploy.package`: what only a real project has;
- :mod:`faaskeeper_gcp.deploy.cloud_options`: the functions' and schedule's tunables;
- :mod:`faaskeeper_gcp.deploy.options`: ``fk deploy --gcp-*``;
- :mod:`faaskeeper_gcp.deploy.status`: ``fk status``.
"""
