"""`graphnsl_planetoid/{cora,citeseer}`: the Planetoid graphs as TFDS node examples.

A TFDS split is a set of examples sharing one schema. A graph's standard split is a split of
its nodes, so each node is one example (its id, bag-of-words features, label and neighbour
ids) and the splits are the standard Planetoid/GCN ones: `train` (the first `len(y)` nodes,
20 per class), `validation` (the next 500), `test` (the ids of `test.index`), `unlabeled`
(every other node). The neighbour ids may name nodes of any split, as in transductive
training; the union of the splits is the whole graph (each undirected edge appears in both
ends' `neighbors`). Labels of `validation`, `test` and `unlabeled` nodes are stored, as the
files hold them; train only on `train`'s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from graphnsl.data import planetoid
from graphnsl.data.tfds._common import manual_folder

_CITATION = """@inproceedings{yang2016revisiting,
  title={Revisiting Semi-Supervised Learning with Graph Embeddings},
  author={Yang, Zhilin and Cohen, William W. and Salakhutdinov, Ruslan},
  booktitle={ICML},
  year={2016}
}"""


@dataclasses.dataclass
class PlanetoidConfig(tfds.core.BuilderConfig):
    """One Planetoid graph: its fixed feature and class counts."""

    num_features: int = 0
    num_classes: int = 0


class GraphnslPlanetoid(tfds.core.GeneratorBasedBuilder):
    """Planetoid citation graphs, one example per node, with the standard Planetoid split."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Node examples with neighbour ids; the standard split."}
    BUILDER_CONFIGS = [
        PlanetoidConfig(
            name="cora",
            description="Cora: 2708 papers, 1433 words, 7 classes, 5278 edges.",
            num_features=1433,
            num_classes=7,
        ),
        PlanetoidConfig(
            name="citeseer",
            description="Citeseer: 3327 papers, 3703 words, 6 classes; 15 test ids have no "
            "features in the files: zero features and label -1 (split `unlabeled`).",
            num_features=3703,
            num_classes=6,
        ),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the files ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index} from "
        "github.com/kimiyoung/planetoid (folder data/) in the manual folder (or in a "
        "`planetoid/` folder inside it), or set GRAPHNSL_DATA_DIR to the parent of a "
        "`planetoid/` folder holding them. Nothing is downloaded."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "id": tfds.features.Scalar(np.int64, doc="Node id, 0..num_nodes-1."),
                    "features": tfds.features.Tensor(
                        shape=(config.num_features,),
                        dtype=np.float32,
                        encoding=tfds.features.Encoding.ZLIB,
                        doc="Bag of words, 0/1.",
                    ),
                    "label": tfds.features.Scalar(
                        np.int64, doc=f"Class 0..{config.num_classes - 1}; -1: none given."
                    ),
                    "neighbors": tfds.features.Tensor(
                        shape=(None,), dtype=np.int64, doc="Ids of the node's neighbours."
                    ),
                }
            ),
            supervised_keys=("features", "label"),
            homepage="https://github.com/kimiyoung/planetoid",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(num_classes=config.num_classes),
        )

    def _split_generators(self, dl_manager):
        name = self.builder_config.name
        dataset = planetoid.load(name, manual_folder(dl_manager), download=False)
        config = self.builder_config
        if (dataset.num_features, dataset.num_classes) != (config.num_features, config.num_classes):
            raise ValueError(
                f"Planetoid {name!r} has {dataset.num_features} features and "
                f"{dataset.num_classes} classes; the builder expects {config.num_features} and "
                f"{config.num_classes} (the public files)."
            )
        self.info.metadata["num_nodes"] = dataset.num_nodes
        self.info.metadata["num_edges"] = int(dataset.adjacency.nnz // 2)
        splits = {
            "train": dataset.train_index,
            "validation": dataset.val_index,
            "test": dataset.test_index,
            "unlabeled": dataset.unlabeled_index,
        }
        return {split: self._generate_examples(dataset, nodes) for split, nodes in splits.items()}

    def _generate_examples(self, dataset: planetoid.PlanetoidDataset, nodes: np.ndarray):
        adjacency = dataset.adjacency
        features = dataset.features[nodes].toarray()
        for row, node in enumerate(nodes.tolist()):
            start, end = adjacency.indptr[node], adjacency.indptr[node + 1]
            yield (
                node,
                {
                    "id": node,
                    "features": features[row],
                    "label": int(dataset.labels[node]),
                    "neighbors": np.sort(adjacency.indices[start:end]).astype(np.int64),
                },
            )
