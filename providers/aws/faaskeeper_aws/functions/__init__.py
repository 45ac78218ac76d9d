"""FaaSKeeper's functions on Lambda, and a host that runs them where Lambda does not.

* :mod:`.handlers`: the Lambda entry points the stack's functions name
  (``faaskeeper_aws.functions.handlers.writer`` and the others);
* :mod:`.functions`: the core's functions over one AWS deployment;
* :mod:`.events`: Lambda's event shapes (SQS batches, scheduled events);
* :mod:`.watch`: the watch function, invoked by the distributor;
* :mod:`.invoke`: one function invoking another synchronously;
* :mod:`.host`: a local stand-in for Lambda that feeds the handlers Lambda-shaped events;
* :mod:`.deployed`: such a host built from what a deployment's stack holds;
* :mod:`.stall`: why a write got no answer, as far as the functions' triggers show it.

Nothing is imported here: the Lambda runtime imports :mod:`.handlers` alone.
"""
