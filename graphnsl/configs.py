"""Configuration classes with Neural Structured Learning's names, defaults and values.

NSL users can keep their configs: every field, default and accepted value below is
NSL 1.4.0's (`nsl.configs`). Enum fields accept the member or its string value
(`'l2'` -> `DistanceType.L2`); anything else raises `ValueError` naming the valid values.
The classes are frozen dataclasses; use `dataclasses.replace` to derive a variant.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class _ValuedEnum(enum.Enum):
    """An enum that converts strings to members with an error listing the valid values."""

    @classmethod
    def all(cls) -> list:
        return list(cls)

    @classmethod
    def coerce(cls, value: Any, field: str):
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for member in cls:
                if value.lower() in (member.value, member.name.lower()):
                    return member
        valid = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"{field}={value!r} is not a valid {cls.__name__}; valid values: {valid}.")


class DistanceType(_ValuedEnum):
    """Types of distance between a sample's output and its neighbours' outputs."""

    L1 = "l1"
    L2 = "l2"
    COSINE = "cosine"
    JENSEN_SHANNON_DIVERGENCE = "jensen_shannon_divergence"
    KL_DIVERGENCE = "kl_divergence"


class TransformType(_ValuedEnum):
    """Transform applied to both sides before the distance."""

    NONE = "none"
    SOFTMAX = "softmax"
    SIGMOID = "sigmoid"


class Reduction:
    """The reduction strings of `tf.compat.v1.losses.Reduction`, which NSL's configs take."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE, cls.MEAN, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, value: Any) -> str:
        if value not in cls.all():
            valid = ", ".join(repr(v) for v in cls.all())
            raise ValueError(f"reduction={value!r} is not valid; valid values: {valid}.")
        return value


def _check_axis(value: Any) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"sum_over_axis={value!r} must be None or an int axis.")
    return value


@dataclasses.dataclass(frozen=True)
class GraphNeighborConfig:
    """Names of the neighbour features in a packed example.

    Attributes:
      prefix: prefix of neighbour features, as in `NL_nbr_0_words`. Default 'NL_nbr_'.
      weight_suffix: suffix of the neighbour weight, as in `NL_nbr_0_weight`. Default '_weight'.
      max_neighbors: how many neighbours to read per sample; 0 disables graph regularization.
    """

    prefix: str = "NL_nbr_"
    weight_suffix: str = "_weight"
    max_neighbors: int = 0

    def __post_init__(self):
        if not isinstance(self.prefix, str) or not self.prefix:
            raise ValueError(f"prefix={self.prefix!r} must be a non-empty string.")
        if not isinstance(self.weight_suffix, str) or not self.weight_suffix:
            raise ValueError(f"weight_suffix={self.weight_suffix!r} must be a non-empty string.")
        if isinstance(self.max_neighbors, bool) or not isinstance(self.max_neighbors, int):
            raise ValueError(f"max_neighbors={self.max_neighbors!r} must be an int >= 0.")
        if self.max_neighbors < 0:
            raise ValueError(f"max_neighbors={self.max_neighbors} must be >= 0.")

    def feature_key(self, index: int, feature_name: str) -> str:
        """The key of neighbour `index`'s feature `feature_name`: 'NL_nbr_0_words'."""
        return f"{self.prefix}{index}_{feature_name}"

    def weight_key(self, index: int) -> str:
        """The key of neighbour `index`'s weight: 'NL_nbr_0_weight'."""
        return f"{self.prefix}{index}{self.weight_suffix}"


@dataclasses.dataclass(frozen=True)
class DistanceConfig:
    """How to compute the distance between two batches of tensors.

    Attributes:
      distance_type: a `DistanceType` or its string. Default L2.
      reduction: a `tf.compat.v1.losses.Reduction` string. Default
        'weighted_sum_by_nonzero_weights'.
      sum_over_axis: None (average over elements) or the axis summed within a sample.
      transform_fn: a `TransformType` or its string, applied to both sides first. Default 'none'.
    """

    distance_type: DistanceType = DistanceType.L2
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS
    sum_over_axis: int | None = None
    transform_fn: TransformType = TransformType.NONE

    def __post_init__(self):
        object.__setattr__(
            self, "distance_type", DistanceType.coerce(self.distance_type, "distance_type")
        )
        object.__setattr__(self, "reduction", Reduction.validate(self.reduction))
        object.__setattr__(self, "sum_over_axis", _check_axis(self.sum_over_axis))
        object.__setattr__(
            self, "transform_fn", TransformType.coerce(self.transform_fn, "transform_fn")
        )


@dataclasses.dataclass(frozen=True)
class GraphRegConfig:
    """Configuration of graph regularization.

    Attributes:
      neighbor_config: a `GraphNeighborConfig`.
      multiplier: weight of the graph loss, >= 0. Default 0.01.
      distance_config: a `DistanceConfig`.
    """

    neighbor_config: GraphNeighborConfig = dataclasses.field(default_factory=GraphNeighborConfig)
    multiplier: float = 0.01
    distance_config: DistanceConfig = dataclasses.field(default_factory=DistanceConfig)

    def __post_init__(self):
        if not isinstance(self.neighbor_config, GraphNeighborConfig):
            raise ValueError(
                f"neighbor_config must be a GraphNeighborConfig, got {self.neighbor_config!r}."
            )
        if not isinstance(self.distance_config, DistanceConfig):
            raise ValueError(
                f"distance_config must be a DistanceConfig, got {self.distance_config!r}."
            )
        try:
            multiplier = float(self.multiplier)
        except (TypeError, ValueError):
            raise ValueError(f"multiplier={self.multiplier!r} must be a number >= 0.") from None
        if not multiplier >= 0:
            raise ValueError(f"multiplier={self.multiplier!r} must be >= 0.")
        object.__setattr__(self, "multiplier", multiplier)

    def to_dict(self) -> dict:
        """Plain values (enum members as strings), for `get_config()` and JSON."""
        return {
            "neighbor_prefix": self.neighbor_config.prefix,
            "neighbor_weight_suffix": self.neighbor_config.weight_suffix,
            "max_neighbors": self.neighbor_config.max_neighbors,
            "multiplier": self.multiplier,
            "distance_type": self.distance_config.distance_type.value,
            "reduction": self.distance_config.reduction,
            "sum_over_axis": self.distance_config.sum_over_axis,
            "transform_fn": self.distance_config.transform_fn.value,
        }

    @classmethod
    def from_dict(cls, values: dict) -> GraphRegConfig:
        """The inverse of `to_dict`."""
        return make_graph_reg_config(**values)


def make_graph_reg_config(
    neighbor_prefix: str = "NL_nbr_",
    neighbor_weight_suffix: str = "_weight",
    max_neighbors: int = 0,
    multiplier: float = 0.01,
    distance_type: DistanceType | str = DistanceType.L2,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
    sum_over_axis: int | None = None,
    transform_fn: TransformType | str = TransformType.NONE,
) -> GraphRegConfig:
    """Creates a `GraphRegConfig` from flat arguments, as NSL's function of that name.

    Example:
      >>> config = make_graph_reg_config(max_neighbors=2, multiplier=0.1, distance_type='l2')
    """
    return GraphRegConfig(
        neighbor_config=GraphNeighborConfig(
            prefix=neighbor_prefix,
            weight_suffix=neighbor_weight_suffix,
            max_neighbors=max_neighbors,
        ),
        multiplier=multiplier,
        distance_config=DistanceConfig(
            distance_type=distance_type,
            reduction=reduction,
            sum_over_axis=sum_over_axis,
            transform_fn=transform_fn,
        ),
    )
