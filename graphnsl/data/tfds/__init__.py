"""TensorFlow Datasets builders for the local Planetoid and Fashion-MNIST files.

Importing this package registers two builders with TFDS (it imports `tensorflow_datasets`,
the optional extra `graphnsl[tfds]`; `import graphnsl` never does):

  graphnsl_planetoid/cora, graphnsl_planetoid/citeseer
      one example per node: `id`, `features` float32[num_features], `label` (int64, -1 where
      the files give none), `neighbors` int64[None] (the node's neighbour ids); splits
      `train`, `validation`, `test` (the standard Planetoid/GCN split: 140/500/1000 on Cora)
      and `unlabeled` (every other node). All splits together hold the whole graph.
  graphnsl_fashion_mnist
      `image` uint8[28, 28, 1], `label` (10 classes); splits `train` and `test`.

Both read local files only and never download: the TFDS manual folder
(`download_config=tfds.download.DownloadConfig(manual_dir=...)`) when it holds the files,
else `$GRAPHNSL_DATA_DIR` (its `planetoid/` and `fashion_mnist/`), else graphnsl's cache.

  import tensorflow_datasets as tfds
  import graphnsl.data.tfds  # registers the builders
  train = tfds.load("graphnsl_planetoid/cora", split="train", as_supervised=True)
"""

from graphnsl.data.tfds.fashion_mnist import GraphnslFashionMnist
from graphnsl.data.tfds.planetoid import GraphnslPlanetoid

__all__ = ["GraphnslFashionMnist", "GraphnslPlanetoid"]
