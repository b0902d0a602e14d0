"""One training process of tests/distributed: MultiWorkerMirroredStrategy or MirroredStrategy.

Usage: python _worker.py {multi_worker,mirrored} DATA_GLOB OUT.json (TF_CONFIG set for
multi_worker). Trains graph_reg.GraphRegularization and the gnn packed-mode
GraphRegularizationModel for 3 steps each on make_dataset's sharded files and writes the
final weights, the ids this worker read in one pass, and the replica count as JSON.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

mode, data_glob, out_path = sys.argv[1:4]
if mode == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
else:
    from graphnsl.data.datasets import multi_worker_strategy

    strategy = multi_worker_strategy()

import keras  # noqa: E402

keras.config.disable_traceback_filtering()

from graphnsl.configs import make_graph_reg_config  # noqa: E402
from graphnsl.data import make_dataset  # noqa: E402
from graphnsl.gnn import GraphRegularizationModel, make_graph_dataset  # noqa: E402
from graphnsl.graph_reg import GraphRegularization  # noqa: E402

GLOBAL_BATCH, DIM, CLASSES, STEPS = 8, 4, 3, 3
keras.utils.set_random_seed(0)
spec = {"x": tf.io.FixedLenFeature([DIM], tf.float32)}
config = make_graph_reg_config(max_neighbors=2, multiplier=0.5)

# The ids this worker reads in one pass: file-level auto-sharding splits the files.
ids = make_dataset(
    data_glob, {"id": tf.io.FixedLenFeature([], tf.string)}, None, batch_size=2,
    drop_remainder=True,
)  # fmt: skip
seen = []
for batch in strategy.experimental_distribute_dataset(ids):
    for part in strategy.experimental_local_results(batch["id"]):
        seen += [i.decode() for i in part.numpy().tolist()]


def node_model():
    inputs = keras.Input(shape=(DIM,), name="x")
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="dense")(inputs))


weights = {}
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
with strategy.scope():
    graph_reg = GraphRegularization(node_model(), config)
    graph_reg.compile(keras.optimizers.SGD(0.5), loss)
    gnn = GraphRegularizationModel(config, node_model_fn=node_model)
    gnn.compile(keras.optimizers.SGD(0.5), loss)
data = make_dataset(
    data_glob, spec, "label", config.neighbor_config, batch_size=GLOBAL_BATCH,
    drop_remainder=True, repeat=True,
)  # fmt: skip
graph_reg.fit(data, steps_per_epoch=STEPS, epochs=1, verbose=0)
# A graph batch's node and edge arrays cannot be split between replicas: each input
# pipeline reads its files (input_context) and makes whole per-replica graph batches.
graphs = strategy.distribute_datasets_from_function(
    lambda context: make_graph_dataset(
        data_glob, spec, "label", neighbor_config=config.neighbor_config,
        batch_size=GLOBAL_BATCH, static_shapes=True, repeat=True, input_context=context,
    )
)  # fmt: skip
gnn.fit(graphs, steps_per_epoch=STEPS, epochs=1, verbose=0)
for name, model in (("graph_reg", graph_reg), ("gnn", gnn)):
    weights[name] = [v.numpy().tolist() for v in model.trainable_weights]
with open(out_path, "w") as f:
    json.dump({"weights": weights, "ids": seen, "replicas": strategy.num_replicas_in_sync}, f)
