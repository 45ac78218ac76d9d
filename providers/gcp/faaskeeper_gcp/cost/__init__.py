"""``fk cost`` on GCP: the model (:mod:`faaskeeper_gcp.cost.model`), the requests counted
(:mod:`faaskeeper_gcp.cost.metering`), measured (:mod:`faaskeeper_gcp.cost.measure`) and priced
(:mod:`faaskeeper_gcp.cost.pricing`)."""
