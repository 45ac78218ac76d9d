"""The GCP deployment's functions.

- :mod:`faaskeeper_gcp.functions.handlers`: the Cloud Functions entry points;
- :mod:`faaskeeper_gcp.functions.functions`: the core's functions over one deployment;
- :mod:`faaskeeper_gcp.functions.watch`: the watch function;
- :mod:`faaskeeper_gcp.functions.host`: functions-framework serving them on this machine.
"""
