"""FaaSKeeper on an emulated AWS (moto).

* ``python -m faaskeeper_aws.emulator CONFIG`` (:mod:`.__main__`): runs the deployment's
  functions on the emulated AWS until interrupted;
* ``python -m faaskeeper_aws.emulator.moto_server -H HOST -p PORT`` (:mod:`.moto_server`): a
  moto server whose SQS FIFO and DynamoDB behave as FaaSKeeper relies on.
"""
