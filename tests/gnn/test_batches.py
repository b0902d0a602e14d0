"""Graph batches: NSL-packed samples -> GraphsTuple fields, k-hop samples, the full graph."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from graphnsl.configs import GraphNeighborConfig
from graphnsl.gnn import batches, planetoid_graphs

CONFIG = GraphNeighborConfig(max_neighbors=2)


def _packed_batch():
    # Sample 0 (features [10]) has neighbour 0 ([11], weight 1) and a missing neighbour 1.
    # Sample 1 ([20]) has neighbours [21] (weight 0.5) and [22] (weight 2).
    return {
        "x": tf.constant([[10.0], [20.0]]),
        "NL_nbr_0_x": tf.constant([[11.0], [21.0]]),
        "NL_nbr_0_weight": tf.constant([[1.0], [0.5]]),
        "NL_nbr_1_x": tf.constant([[0.0], [22.0]]),
        "NL_nbr_1_weight": tf.constant([[0.0], [2.0]]),
    }


def test_pack_neighbors_drops_missing_neighbours_and_puts_centre_last():
    graph = batches.pack_neighbors(_packed_batch(), CONFIG)
    np.testing.assert_array_equal(graph["n_node"], [2, 3])
    np.testing.assert_array_equal(graph["n_edge"], [1, 2])
    np.testing.assert_array_equal(graph["x"][:, 0], [11, 10, 21, 22, 20])
    np.testing.assert_array_equal(graph["senders"], [0, 2, 3])
    np.testing.assert_array_equal(graph["receivers"], [1, 4, 4])
    np.testing.assert_allclose(graph["edges"][:, 0], [1.0, 0.5, 2.0])
    assert graph["globals"].shape == (2, 0)


def test_pack_neighbors_static_shapes_pads_inside_each_graph():
    graph = batches.pack_neighbors(_packed_batch(), CONFIG, static_shapes=True)
    np.testing.assert_array_equal(graph["n_node"], [3, 3])
    np.testing.assert_array_equal(graph["n_edge"], [2, 2])
    np.testing.assert_array_equal(graph["x"][:, 0], [11, 0, 10, 21, 22, 20])
    np.testing.assert_array_equal(graph["senders"], [0, 1, 3, 4])
    np.testing.assert_array_equal(graph["receivers"], [2, 2, 5, 5])
    np.testing.assert_allclose(graph["edges"][:, 0], [1.0, 0.0, 0.5, 2.0])
    assert graph["x"].shape == (6, 1)


def test_pack_neighbors_without_neighbours_and_missing_keys():
    graph = batches.pack_neighbors({"x": tf.constant([[1.0], [2.0]])}, None)
    np.testing.assert_array_equal(graph["n_node"], [1, 1])
    assert graph["senders"].shape == (0,)
    features = _packed_batch()
    del features["NL_nbr_1_weight"]
    with pytest.raises(ValueError, match="NL_nbr_1_weight"):
        batches.pack_neighbors(features, CONFIG)


def _write_records(path, rows):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for row in rows:
            feature = {
                key: (
                    tf.train.Feature(float_list=tf.train.FloatList(value=value))
                    if key.endswith("weight")
                    else tf.train.Feature(int64_list=tf.train.Int64List(value=value))
                )
                for key, value in row.items()
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())


def test_make_cora_dataset_reads_packed_records(tmp_path):
    path = tmp_path / "train.tfr"
    _write_records(
        path,
        [
            {
                "words": [1, 0, 0],
                "label": [2],
                "NL_nbr_0_words": [0, 1, 0],
                "NL_nbr_0_weight": [1.0],
            },
            {"words": [0, 0, 1], "label": [0]},  # no neighbour at all
        ],
    )
    dataset = batches.make_cora_dataset(
        str(path), batch_size=2, neighbor_config=CONFIG, max_seq_length=3
    )
    graph, label = next(iter(dataset))
    np.testing.assert_array_equal(label, [2, 0])
    np.testing.assert_array_equal(graph["n_node"], [2, 1])
    np.testing.assert_array_equal(graph["words"], [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(graph["senders"], [0])
    np.testing.assert_array_equal(graph["receivers"], [1])
    static = batches.make_cora_dataset(
        str(path), batch_size=2, neighbor_config=CONFIG, max_seq_length=3, static_shapes=True
    )
    assert static.element_spec[0]["words"].shape.as_list() == [6, 3]
    assert static.element_spec[0]["senders"].shape.as_list() == [4]


# Path graph 0 - 1 - 2 - 3 plus edge 1 - 4.
ADJ = sp.csr_matrix(
    (np.ones(8, np.float32), ([0, 1, 1, 2, 2, 3, 1, 4], [1, 0, 2, 1, 3, 2, 4, 1])), shape=(5, 5)
)


def test_neighborhood_batch_two_hops_reuses_the_centre_and_pads():
    batch = planetoid_graphs.neighborhood_batch(ADJ, [2], hops=2, max_neighbors=3)
    # Hop 1 of 2: nodes 1, 3; hop 2: 0, 4 (new) and 2 (the centre, reused); centre last.
    np.testing.assert_array_equal(batch["node_ids"], [1, 3, 0, 4, 2])
    edges = set(
        zip(batch["node_ids"][batch["senders"]], batch["node_ids"][batch["receivers"]], strict=True)
    )
    assert edges == {(1, 2), (3, 2), (0, 1), (2, 1), (4, 1), (2, 3)}
    np.testing.assert_array_equal(batch["n_node"], [5])
    np.testing.assert_array_equal(batch["n_edge"], [6])
    padded = planetoid_graphs.neighborhood_batch(ADJ, [2, 0], 2, 3, static_shapes=True)
    np.testing.assert_array_equal(padded["n_node"], [13, 13])
    np.testing.assert_array_equal(padded["n_edge"], [12, 12])
    assert padded["node_ids"][12] == 2 and padded["node_ids"][25] == 0
    assert (padded["node_ids"][5:12] == -1).all()
    # Padding edges are centre -> centre with weight 0.
    assert (padded["weights"][6:12] == 0).all()
    assert (padded["senders"][6:12] == 12).all() and (padded["receivers"][6:12] == 12).all()


def test_neighborhood_batch_samples_at_most_max_neighbors():
    rng = np.random.default_rng(0)
    batch = planetoid_graphs.neighborhood_batch(ADJ, [1], hops=1, max_neighbors=2, rng=rng)
    assert batch["n_edge"][0] == 2
    assert set(batch["node_ids"][:2]) <= {0, 2, 4}


def test_full_graph_has_every_edge_and_normalized_rows():
    features = np.array([[1, 1], [0, 2], [0, 0], [3, 1], [1, 0]], np.float32)
    graph = planetoid_graphs.full_graph(features, ADJ, center_nodes=[1, 3])
    np.testing.assert_allclose(graph["words"][0], [0.5, 0.5])
    np.testing.assert_allclose(graph["words"][2], [0.0, 0.0])
    assert graph["n_edge"][0] == 8
    pairs = set(zip(graph["senders"], graph["receivers"], strict=True))
    assert (0, 1) in pairs and (1, 0) in pairs
    np.testing.assert_array_equal(graph["center_nodes"], [1, 3])
    with pytest.raises(ValueError, match="adjacency"):
        planetoid_graphs.full_graph(features, ADJ[:4, :4])
