"""Smoke test of graphnsl/demo.py on a tiny synthetic graph."""

import json
import re

import numpy as np

from graphnsl import demo


def test_synthetic_graph_is_a_homophilous_block_model():
    graph = demo.synthetic_citation_graph(num_nodes=300, num_classes=3, num_features=60, seed=1)
    assert graph.features.shape == (300, 60) and graph.adjacency.shape == (300, 300)
    assert (graph.adjacency != graph.adjacency.T).nnz == 0 and graph.adjacency.diagonal().sum() == 0
    rows, cols = graph.adjacency.nonzero()
    same = np.mean(graph.labels[rows] == graph.labels[cols])
    assert same > 0.75  # homophily 0.85 plus chance
    assert (
        len(graph.train_index) == 60
        and len(np.intersect1d(graph.train_index, graph.test_index)) == 0
    )
    assert set(np.unique(graph.features.data)) == {1.0}


def test_unreachable_cora_falls_back_to_the_synthetic_graph(tmp_path, capsys):
    dataset, source = demo.load_demo_dataset(tmp_path / "empty")
    assert dataset.name == "synthetic" and "synthetic" in source
    assert "not reachable" in capsys.readouterr().out


def test_demo_runs_and_writes_table_plot_and_json(tmp_path, capsys):
    graph = demo.synthetic_citation_graph(num_nodes=240, num_classes=3, num_features=50, seed=2)
    results = demo.run_demo(tmp_path, epochs=3, dataset=graph)
    assert list(results) == [name for name, _ in demo.MODELS]
    for result in results.values():
        assert 0.0 <= result.test_accuracy <= 1.0
        if result.per == "epoch":
            assert len(result.val_accuracy) == 3
        else:  # GAM: iteration 0 (the classifier alone) and at most 3 co-training rounds
            assert 1 <= len(result.val_accuracy) <= 4
    out = capsys.readouterr().out
    assert "MLP + graph regularization" in out and "test accuracy" in out
    png = (tmp_path / "demo_val_accuracy.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    saved = json.loads((tmp_path / "demo_results.json").read_text())
    assert [row["model"] for row in saved["results"]] == list(results)
    assert saved["epochs"] == 3
    assert "each of 240 seeds (60 labeled)" in out  # every node is a seed; 20 labeled per class
    # The packing line says what each figure times; pack_nbrs' share is the call alone.
    timed = re.search(
        r"writing the seed examples and graph took ([\d.]+) s, pack_nbrs ([\d.]+) s, reading "
        r"the packed examples back with make_dataset ([\d.]+) s",
        out,
    )
    assert timed, out
