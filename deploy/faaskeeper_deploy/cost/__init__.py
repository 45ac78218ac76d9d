"""``fk cost``: the command (:mod:`.cli`) pricing each operation's billable requests, and the
model of a month of a workload against a ZooKeeper ensemble (:mod:`.workload`, :mod:`.model`)."""
