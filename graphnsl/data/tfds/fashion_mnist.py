"""`graphnsl_fashion_mnist`: Fashion-MNIST from the local IDX files, as TFDS examples.

The same examples as TFDS's own `fashion_mnist` (`image` uint8[28, 28, 1], `label` of 10
classes, splits `train` 60,000 and `test` 10,000, in file order), read from local files
through `graphnsl.data.fashion_mnist` instead of downloaded.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from graphnsl.data import fashion_mnist
from graphnsl.data.tfds._common import manual_folder

_CITATION = """@article{xiao2017fashion,
  title={Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  author={Xiao, Han and Rasul, Kashif and Vollgraf, Roland},
  journal={arXiv preprint arXiv:1708.07747},
  year={2017}
}"""


class GraphnslFashionMnist(tfds.core.GeneratorBasedBuilder):
    """Fashion-MNIST (28x28 grey images, 10 classes) from the local gzipped IDX files."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Read from local IDX files."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
        "and t10k-labels-idx1-ubyte.gz from github.com/zalandoresearch/fashion-mnist (folder "
        "data/fashion) in the manual folder (or in a `fashion_mnist/` folder inside it), or set "
        "GRAPHNSL_DATA_DIR to the parent of a `fashion_mnist/` folder holding them. Nothing is "
        "downloaded."
    )

    def __init__(self, *, verify_counts: bool = True, **kwargs):
        """Args: verify_counts: require 60,000/10,000 items (False for small copies)."""
        self._verify_counts = verify_counts
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(28, 28, 1)),
                    "label": tfds.features.ClassLabel(names=list(fashion_mnist.CLASS_NAMES)),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        data = fashion_mnist.load(
            manual_folder(dl_manager), download=False, verify_counts=self._verify_counts
        )
        return {
            "train": self._generate_examples(data.train_images, data.train_labels),
            "test": self._generate_examples(data.test_images, data.test_labels),
        }

    def _generate_examples(self, images: np.ndarray, labels: np.ndarray):
        for index in range(len(images)):
            yield index, {"image": images[index][..., None], "label": int(labels[index])}
