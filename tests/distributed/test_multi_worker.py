"""Training on sharded packed TFRecords under tf.distribute: 2 local workers, and mirrored.

Two `MultiWorkerMirroredStrategy` workers on 127.0.0.1 (`TF_CONFIG`, free ports) and one
`MirroredStrategy` process on two logical CPUs run `_worker.py` at once: each trains
`graph_reg.GraphRegularization` and the gnn packed-mode `GraphRegularizationModel` for 3
steps on `make_dataset` over 4 shards written by `pack_nbrs --num_shards=4`.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_WORKER = Path(__file__).with_name("_worker.py")
_ROOT = Path(__file__).resolve().parents[2]
_TIMEOUT = 420  # seconds for all three processes (TensorFlow start-up dominates)
SEEDS = 32


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def runs(tmp_path_factory, write_shards):
    folder = tmp_path_factory.mktemp("distributed")
    pattern = write_shards(folder)
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
    }
    env.pop("TF_CONFIG", None)
    jobs = {}
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        jobs[f"worker{index}"] = (["multi_worker"], {**env, "TF_CONFIG": tf_config})
    jobs["mirrored"] = (["mirrored"], env)
    processes = {}
    for name, (args, job_env) in jobs.items():
        out = folder / f"{name}.json"
        command = [sys.executable, str(_WORKER), *args, pattern, str(out)]
        processes[name] = (
            subprocess.Popen(
                command, env=job_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            ),
            out,
        )
    results = {}
    try:
        for name, (process, out) in processes.items():
            log, _ = process.communicate(timeout=_TIMEOUT)
            assert process.returncode == 0, f"{name} failed:\n{log[-3000:]}"
            results[name] = json.loads(out.read_text())
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def test_two_workers_shard_files_and_end_with_the_same_weights(runs):
    first, second = runs["worker0"], runs["worker1"]
    assert first["replicas"] == second["replicas"] == 2
    # File-level auto-shard: each worker reads 2 of the 4 files; together every seed once.
    assert len(first["ids"]) == len(second["ids"]) == SEEDS // 2
    assert not set(first["ids"]) & set(second["ids"])
    assert sorted(first["ids"] + second["ids"]) == [f"s{i:02d}" for i in range(SEEDS)]
    for worker in (first, second):  # whole files: shard f holds seeds 8f .. 8f + 7
        files = {int(i[1:]) // (SEEDS // 4) for i in worker["ids"]}
        assert len(files) == 2
    for model in ("graph_reg", "gnn"):
        got, other = first["weights"][model], second["weights"][model]
        assert len(got) == 2  # the node model's kernel and bias
        for a, b in zip(got, other, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_mirrored_strategy_keeps_working(runs):
    mirrored = runs["mirrored"]
    assert mirrored["replicas"] == 2
    assert sorted(mirrored["ids"]) == [f"s{i:02d}" for i in range(SEEDS)]  # one worker: all
    for model in ("graph_reg", "gnn"):
        assert all(np.isfinite(np.asarray(w)).all() for w in mirrored["weights"][model])
