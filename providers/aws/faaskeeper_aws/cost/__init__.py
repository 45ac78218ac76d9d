"""``fk cost`` on AWS, and the metering it relies on.

* :mod:`.model`: what ``fk cost`` calls: the deployment measured and priced;
* :mod:`.metering`: counting the billable requests every AWS client of the provider makes;
* :mod:`.pricing`: AWS list prices and the billable units of those requests;
* :mod:`.measure` and :mod:`.measure_heartbeat`: the requests of each client operation and of
  a heartbeat run, measured against a deployment.
"""
