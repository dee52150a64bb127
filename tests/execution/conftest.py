"""One real Ray cluster per test module: a head and a worker node, separate processes, on loopback only."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Ray turns a loopback address into the machine's interface address when joining; the cluster here listens
# on loopback only (assay.execution.ray_pool.connect sets the same switch before it imports ray)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """The address of a running cluster (head: 1 CPU, second node: 2 CPUs); this process is its driver."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from assay.execution.ray_pool import connect

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False},
    )
    cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    connect(cluster.address)
    try:
        yield str(cluster.address)
    finally:
        ray.shutdown()
        cluster.shutdown()
