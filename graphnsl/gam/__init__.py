"""Graph Agreement Models (Stretcu et al., NeurIPS 2019) on Keras 3.

An agreement model learns P(two nodes share a label) from their features; the classifier is
regularized along graph edges only as much as the agreement model trusts each edge; the two
are co-trained, the classifier self-labeling its most confident nodes each round.

  from graphnsl import gam
  from graphnsl.data import planetoid
  data = gam.from_planetoid(planetoid.load("cora"))
  result = gam.cotrain(data, "mlp", gam.CotrainConfig(reg_weight_lu=0.1, reg_weight_uu=0.05))
  result.baseline_test_accuracy, result.test_accuracy
"""

from graphnsl.gam.agreement import AgreementModel
from graphnsl.gam.classifiers import GCN, mlp_classifier, normalized_adjacency
from graphnsl.gam.config import AGGREGATIONS, CotrainConfig
from graphnsl.gam.cotrain import (
    CoTrainer,
    CotrainResult,
    IterationRecord,
    cotrain,
    make_classifier_fn,
)
from graphnsl.gam.data import CotrainData, from_packed_tfrecords, from_planetoid
from graphnsl.gam.losses import agreement_regularization
from graphnsl.gam.self_labeling import (
    combine_with_neighbor_votes,
    label_proportions,
    predicted_proportions,
    select_samples_to_label,
    self_labels_to_keep,
)

__all__ = [
    "AGGREGATIONS",
    "AgreementModel",
    "CoTrainer",
    "CotrainConfig",
    "CotrainData",
    "CotrainResult",
    "GCN",
    "IterationRecord",
    "agreement_regularization",
    "combine_with_neighbor_votes",
    "cotrain",
    "from_packed_tfrecords",
    "from_planetoid",
    "label_proportions",
    "make_classifier_fn",
    "mlp_classifier",
    "normalized_adjacency",
    "predicted_proportions",
    "select_samples_to_label",
    "self_labels_to_keep",
]
