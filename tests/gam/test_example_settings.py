"""The GAM example's table of reference settings (examples/gam_planetoid.py), without training."""

import os
import pathlib

import pytest

from graphnsl import gam


@pytest.fixture(scope="module")
def example(load_example):
    return load_example("gam_planetoid")


def test_every_row_makes_a_valid_config(example):
    assert set(example.REFERENCE) == {
        (d, c, v)
        for d in ("cora", "citeseer")
        for c in ("mlp", "gcn")
        for v in ("gam", "ngm", "gam_star")
    }
    for dataset, classifier, variant in example.REFERENCE:
        options = example.settings(dataset, classifier, variant)
        options.pop("row_normalize")
        config = gam.CotrainConfig(**options)
        assert config.num_iter_after_best_val_cls == 2000
        assert config.use_graph == (variant != "gam_star")
        assert config.always_agree == (variant == "ngm")
        # The reference's own choices unless --ours.
        assert (config.agr_train_pairs, config.edge_prior_agr) == ("edges", False)
        assert config.label_proportions_from == "train"


def test_post_fix_citeseer_settings(example):
    # research/gam/run_configs.txt @ 283deef, line 60 (MLP) and 88 (GCN).
    mlp = example.settings("citeseer", "mlp", "gam")
    assert example.REFERENCE[("citeseer", "mlp", "gam")][0] == 60
    expected = dict(
        num_samples_to_label=50,
        max_num_iter_cotrain=100,
        reg_weight_lu=0.1,
        reg_weight_uu=0.05,
        min_confidence_new_label=0.9,
        keep_label_proportions=True,
        num_pairs_reg=128,
        batch_size_cls=128,
        learning_rate_cls=1e-3,
        num_iter_after_best_val_agr=2000,
        add_negative_edges_agr=True,
        aggregation_agr="dist",
        row_normalize=False,
    )
    assert {k: mlp[k] for k in expected} == expected
    gcn = example.settings("citeseer", "gcn", "gam")
    assert (gcn["reg_weight_lu"], gcn["reg_weight_uu"], gcn["row_normalize"]) == (0.01, 0.005, True)
    assert (gcn["max_num_iter_cotrain"], gcn["num_pairs_reg"]) == (50, 512)
    cora_gcn = example.settings("cora", "gcn", "gam")
    assert cora_gcn["keep_label_proportions"] is False and cora_gcn["reg_weight_lu"] == 1.0
    # NGM: one round with the agreement term (agreement 1), default weights 0.1/0.05.
    ngm = example.settings("cora", "mlp", "ngm")
    assert (ngm["max_num_iter_cotrain"], ngm["first_iter_original"]) == (1, False)
    assert (ngm["reg_weight_lu"], ngm["reg_weight_uu"]) == (0.1, 0.05)


def test_unknown_row_is_named(example):
    with pytest.raises(ValueError, match="pubmed"):
        example.settings("pubmed", "mlp", "gam")


def test_example_is_executable(example):
    path = pathlib.Path(example.__file__)
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/usr/bin/env python3\n")
