"""Graph Agreement Models on Planetoid Cora/Citeseer: the classifier alone and with GAM.

Runs `gam.cotrain` with the reference configuration of the GAM paper's updated results
(NSL `research/gam/run_configs.txt`) for each dataset x classifier, over several seeds, and
prints iteration 0 (the classifier alone) and GAM (test accuracy at the co-training iteration
with the best validation accuracy) beside the paper's numbers. Deviations by default, all
chosen on validation accuracy: the agreement model trains on balanced pairs of labeled nodes
(`--agr_train_pairs=labeled`; the reference: labeled graph edges, a few dozen on Cora at
first), its logit is shifted to the labeled edges' agreement log odds (`--edge_prior_agr`),
the self-label quotas per class follow the classifier's predicted class shares on the
candidate pool (`--label_proportions_from=predicted`; the reference keeps the training
labels' shares, uniform 20 per class on Planetoid, which fills the rare classes' quotas with
wrong labels in later rounds), and the GCN's agreement weights are 1.0/0.5 instead of 100/50
(at 100/50 the Cora GCN loses ~4 validation points in round 1; both datasets end lower).
`--agr_train_pairs=edges --noedge_prior_agr --label_proportions_from=train
--reg_weight_lu=100 --reg_weight_uu=50` is the reference (the last two for the GCN only).

  python examples/gam_planetoid.py --dataset=cora --classifier=mlp --seeds=3 \
      --output_json=/tmp/gam.json

Lists are accepted: `--dataset=cora,citeseer --classifier=mlp,gcn`.

Measured (test accuracy %, mean +- std over seeds 0, 1, 2, `--patience=500
--max_num_iter_cotrain=6`, 2 shared CPU cores at load 3-5). "previous": training-label
quotas and, for the GCN, weights 100/50 (the previous default), same seeds and flags:

  dataset   model             iteration 0   GAM (default)   previous      paper   s/seed
  cora      MLP_128 + GAM     54.0 +- 1.4   80.5 +- 1.0     79.4 +- 0.4   80.2    60-80
  cora      GCN_128 + GAM     82.0 +- 0.4   84.2 +- 0.5     82.0 +- 0.4   84.8    110-115
  citeseer  MLP_128 + GAM     50.8 +- 1.2   69.5 +- 0.7     69.1 +- 0.8   73.2    65-90
  citeseer  GCN_128 + GAM     67.3 +- 0.3   72.0 +- 0.9     69.4 +- 0.7   72.2    190-205

Per seed (default / previous): Cora MLP 80.5 79.3 81.7 / 79.8 78.8 79.5; Cora GCN 84.0 83.8
84.9 / 82.0 82.5 81.5; Citeseer MLP 68.6 70.3 69.7 / 69.1 70.0 68.1; Citeseer GCN 72.8 70.7
72.6 / 69.7 70.0 68.4. GCN with predicted quotas at the reference weights 100/50: Cora 82.4
+- 0.7 (validation 0.807 against 0.816 at 1.0/0.5), Citeseer 69.5 +- 0.9 (validation 0.711
against 0.731). GCN self-training alone (`--reg_weight_lu=0 --reg_weight_uu=0`): Cora 83.6
+- 0.5 (validation 0.820, 3 seeds), Citeseer 72.8 +- 0.4 (validation 0.734, 2 seeds); the
MLP needs the agreement term (Citeseer MLP seed 0: 66.2 without, 68.6 with).
Citeseer MLP's best rounds are 4-10, past the 6-round cap: with `--max_num_iter_cotrain=12`
(the pool runs out by then) it reaches 70.9 +- 0.2 (71.2 70.6 71.0; 165-200 s/seed) at the
reference weights 10/5, 71.1 +- 0.5 at 3/1.5 and 71.4 +- 0.9 at 1/0.5; mean best validation
0.727, 0.728 and 0.729, so the reference weights stay. `--num_pairs_reg=512`: 68.1 (seed 0).
With no caps at all (patience 1000, this script's defaults): 70.7 +- 1.1, 240 s/seed.
Why Citeseer MLP stays 2.3 points under the paper: the reference code's labeled-unlabeled
pairs include the edges (unlabeled -> labeled) unreoriented, and for those the "label" side is
the stored label of the unlabeled node, i.e. its true label (test nodes included), pulling
the labeled neighbour's prediction towards it. graphnsl puts the labeled end first and never
reads an unlabeled node's label (tests/gam/test_cotrain.py checks it). Replaying that read
in a throwaway copy of gam.cotrain (two lines; not shipped), 12 rounds, seeds 0-2:
Citeseer MLP 73.3 +- 0.2 (73.3 73.6 73.1; validation 0.753) against 70.9 +- 0.2 without,
paper 73.2. The reference's own settings with the read: 70.4 72.5 (seeds 0, 1), without:
69.5 70.9. It matters where the labeled-unlabeled weight is large: Citeseer GCN at the
reference weights 100/50 goes from 69.7 70.6 to 73.0 72.8 with it (6 rounds); Cora MLP
(weight 0.1) does not move (80.7 +- 0.8 with it, 80.5 +- 1.0 without); Cora GCN at 100/50
goes from 82.9 82.9 to 86.3 86.3 (paper 84.8), which is why those weights look right in the
reference and cost accuracy here.
Accuracy of each round's new self-labels, rounds 1-5, Cora MLP seed 0: 0.94 0.94 0.85 0.82
0.64 with predicted quotas, 0.91 0.89 0.76 0.67 0.63 with training quotas.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

# The paper's updated results (README of NSL research/gam), GAM rows; fractions.
PAPER_GAM = {
    ("cora", "mlp"): 0.802,
    ("citeseer", "mlp"): 0.732,
    ("cora", "gcn"): 0.848,
    ("citeseer", "gcn"): 0.722,
}

# Reference commands (run_configs.txt): agreement weights and pairs per step.
REFERENCE = {
    ("cora", "mlp"): dict(reg_weight_lu=0.1, reg_weight_uu=0.05, num_pairs_reg=128),
    ("citeseer", "mlp"): dict(reg_weight_lu=10.0, reg_weight_uu=5.0, num_pairs_reg=128),
    ("cora", "gcn"): dict(reg_weight_lu=100.0, reg_weight_uu=50.0, num_pairs_reg=512),
    ("citeseer", "gcn"): dict(reg_weight_lu=100.0, reg_weight_uu=50.0, num_pairs_reg=512),
}

# Our defaults where they differ from the reference: the GCN's agreement weights, chosen by
# validation accuracy (at 100/50 the GCN loses validation accuracy in round 1 and ends lower;
# see the module docstring). `--reg_weight_lu=100 --reg_weight_uu=50` restores the reference.
OURS = {
    ("cora", "gcn"): dict(reg_weight_lu=1.0, reg_weight_uu=0.5),
    ("citeseer", "gcn"): dict(reg_weight_lu=1.0, reg_weight_uu=0.5),
}


def define_flags() -> None:
    flags.DEFINE_list("dataset", ["cora"], "cora and/or citeseer.")
    flags.DEFINE_list("classifier", ["mlp"], "mlp and/or gcn.")
    flags.DEFINE_integer("seeds", 1, "Runs per configuration, seeds 0..N-1.")
    flags.DEFINE_string("output_json", None, "Write the result rows to this JSON file.")
    flags.DEFINE_string("data_dir", None, "Folder with ind.<name>.* (default: the data layer's).")
    flags.DEFINE_string(
        "summary_dir", None, "TensorBoard summaries under DIR/<dataset>_<cls>_<seed>."
    )
    flags.DEFINE_enum("variant", "gam", ["gam", "ngm", "gam_star"], "GAM, NGM or GAM*.")
    flags.DEFINE_integer("patience", None, "Override num_iter_after_best_val_{cls,agr}.")
    flags.DEFINE_integer("max_num_iter_cotrain", None, "Override the co-training iterations.")
    flags.DEFINE_float(
        "reg_weight_lu", None, "Override the default labeled-unlabeled agreement weight."
    )
    flags.DEFINE_float(
        "reg_weight_uu", None, "Override the default unlabeled-unlabeled agreement weight."
    )
    flags.DEFINE_integer(
        "num_pairs_reg", None, "Override the default graph pairs per regularization step."
    )
    flags.DEFINE_bool(
        "edge_prior_agr",
        True,
        "Shift the agreement logit to the labeled edges' agreement log odds (ours; False: "
        "the reference's balanced-prior agreement).",
    )
    flags.DEFINE_enum(
        "agr_train_pairs",
        "labeled",
        ["edges", "labeled"],
        "Agreement training pairs: any balanced pairs of labeled nodes (ours) or the labeled "
        "graph edges plus random negatives (the reference).",
    )
    flags.DEFINE_enum(
        "label_proportions_from",
        "predicted",
        ["train", "predicted"],
        "Self-label quotas per class from the classifier's predicted class shares on the "
        "candidate pool, recomputed each iteration (ours), or from the training labels' shares "
        "(the reference: uniform 20 per class on Planetoid).",
    )
    flags.DEFINE_bool(
        "recheck_self_labels",
        False,
        "Drop earlier self-labels the classifier no longer predicts (confidently) before each "
        "self-labeling step.",
    )
    flags.DEFINE_bool("verbose", True, "Per-iteration lines and a progress bar.")


def config_for(dataset: str, classifier: str, seed: int, summary_dir: str | None):
    from graphnsl import gam

    options = dict(REFERENCE[(dataset, classifier)])
    options.update(OURS.get((dataset, classifier), {}))
    options.update(
        edge_prior_agr=flags.FLAGS.edge_prior_agr,
        agr_train_pairs=flags.FLAGS.agr_train_pairs,
        label_proportions_from=flags.FLAGS.label_proportions_from,
        recheck_self_labels=flags.FLAGS.recheck_self_labels,
    )
    if flags.FLAGS.variant == "ngm":
        options.update(always_agree=True, max_num_iter_cotrain=2)
    elif flags.FLAGS.variant == "gam_star":
        options.update(use_graph=False)
    if flags.FLAGS.patience is not None:
        options.update(
            num_iter_after_best_val_cls=flags.FLAGS.patience,
            num_iter_after_best_val_agr=flags.FLAGS.patience,
        )
    for name in ("reg_weight_lu", "reg_weight_uu", "num_pairs_reg"):
        if getattr(flags.FLAGS, name) is not None:
            options[name] = getattr(flags.FLAGS, name)
    if flags.FLAGS.max_num_iter_cotrain is not None:
        options.update(max_num_iter_cotrain=flags.FLAGS.max_num_iter_cotrain)
    if summary_dir:
        options.update(summary_dir=os.path.join(summary_dir, f"{dataset}_{classifier}_{seed}"))
    return gam.CotrainConfig(seed=seed, verbose=flags.FLAGS.verbose, **options)


def main(argv) -> None:
    del argv
    from graphnsl import gam
    from graphnsl.data import planetoid

    rows, comparison = [], []
    for dataset in flags.FLAGS.dataset:
        if dataset not in ("cora", "citeseer"):
            raise app.UsageError(f"--dataset={dataset!r}: use cora or citeseer.")
        data = gam.from_planetoid(planetoid.load(dataset, flags.FLAGS.data_dir))
        for classifier in flags.FLAGS.classifier:
            if classifier not in ("mlp", "gcn"):
                raise app.UsageError(f"--classifier={classifier!r}: use mlp or gcn.")
            base_acc, gam_acc, base_secs, gam_secs, iterations = [], [], [], [], []
            for seed in range(flags.FLAGS.seeds):
                config = config_for(dataset, classifier, seed, flags.FLAGS.summary_dir)
                start = time.perf_counter()
                result = gam.cotrain(data, classifier, config)
                seconds = time.perf_counter() - start
                base_acc.append(result.baseline_test_accuracy)
                gam_acc.append(result.test_accuracy)
                base_secs.append(result.iterations[0].seconds)
                gam_secs.append(seconds)
                iterations.append(len(result.iterations))
                print(
                    f"{dataset} {classifier} seed {seed}: iteration 0 "
                    f"{result.baseline_test_accuracy:.4f}, GAM {result.test_accuracy:.4f} "
                    f"(best iteration {result.best_iteration} of {len(result.iterations)}, "
                    f"{seconds:.0f} s)",
                    flush=True,
                )
            name = classifier.upper()
            suffix = {"gam": "GAM", "ngm": "NGM", "gam_star": "GAM*"}[flags.FLAGS.variant]
            rows.append(common.result_row(f"{name} (iteration 0)", dataset, base_acc, base_secs))
            rows.append(common.result_row(f"{name} + {suffix}", dataset, gam_acc, gam_secs))
            paper = PAPER_GAM[(dataset, classifier)] if flags.FLAGS.variant == "gam" else None
            comparison.append((dataset, f"{name} + {suffix}", rows[-1], paper, iterations))
    common.print_table(rows)
    print("\nGAM beside the paper's updated table (test accuracy, %):")
    for dataset, model, row, paper, iterations in comparison:
        ours = f"{100 * row['test_accuracy_mean']:.1f} ± {100 * row['test_accuracy_std']:.1f}"
        theirs = "n/a" if paper is None else f"{100 * paper:.1f}"
        gap = "" if paper is None else f"  (gap {100 * (row['test_accuracy_mean'] - paper):+.1f})"
        print(
            f"  {dataset:9s} {model:12s} ours {ours}  paper {theirs}{gap}  "
            f"iterations {iterations}  {row['train_seconds'] / row['seeds']:.0f} s/seed"
        )
    if flags.FLAGS.output_json:
        common.write_results_json(flags.FLAGS.output_json, rows)
        print(f"wrote {flags.FLAGS.output_json}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
