"""``fk cost`` on Azure: the model (:mod:`faaskeeper_azure.cost.model`), the requests counted
(:mod:`faaskeeper_azure.cost.metering`), measured (:mod:`faaskeeper_azure.cost.measure`) and priced
(:mod:`faaskeeper_azure.cost.pricing`)."""
