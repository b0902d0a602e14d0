#!/usr/bin/env python3
"""Graph Agreement Models on Planetoid Cora/Citeseer: the classifier alone, NGM, GAM and GAM*.

Runs `gam.cotrain` with the reference settings of the GAM paper's updated results for each
dataset x classifier x variant, over several seeds, and prints the test accuracy beside the
reference's table. The settings are those of NSL `research/gam/run_configs.txt` at commit
283deef (2022-01-17, "Updated run_configs.txt"), the commands the authors committed with the
"Updated Results" table of `research/gam/README.md` (`img/gam-updated-results.png`); each
value below is cited to its line of that file, and flags the commands leave out take the
defaults of `gam/experiments/run_train_gam_graph.py` (same commit).

  python examples/gam_planetoid.py --dataset=cora --classifier=mlp --variant=gam --seeds=3

Variants: `gam` (the agreement model on graph edges), `ngm` (Neural Graph Machines: the
agreement is always 1, `always_agree`; one round), `gam_star` (GAM*: no graph, the agreement
model is trained on and applied to random pairs of nodes, `use_graph=False`). The classifier
alone is iteration 0 of every `gam` run (`first_iter_original`, as in the reference).

The reference code read true labels of unlabeled nodes in its labeled-unlabeled pairs from
2019-09 until PR #82 (commit 52ea737, 2021-04-10, NSL issue #81), which reversed the
(unlabeled, labeled) edges. The GAM rows of the table we compare against (marked as updated
in the README) were re-measured after that fix with the settings below, so they are
leak-free; graphnsl never reads an unlabeled node's label (tests/gam/test_cotrain.py checks
it). The baseline rows have no pair term and GAM* draws labeled-first random pairs, so
neither depends on the fix; the NGM rows were not re-run after it (they are not marked as
updated) although NGM used the same LU edges, so they are pre-fix figures.

Our own choices are flags, off by default (`--ours` turns the first three on):
`--agr_train_pairs=labeled` (the agreement model trains on balanced pairs of labeled nodes,
not only the labeled graph edges), `--edge_prior_agr` (the agreement logit is shifted to the
labeled edges' agreement log odds), `--label_proportions_from=predicted` (self-label quotas
follow the classifier's predicted class shares instead of the training labels'), and
`--recheck_self_labels`.

Measured with the defaults of 2026-12-04 (`reg_pairs`, `agr_stopping` and `random_pairs` as
the reference's trainers; see COMMON), test %, 2 cores shared by four to six runs, logs in
/work/notes/gam4 and gam5; the rows below this block were measured with the defaults before them:

  row                 seed 0   seed 1   seed 2   mean +- std   paper   rounds, best   wall min
  Cora MLP + NGM      77.4     77.9     78.5     77.9 +- 0.4   77.7    1              1-2
  Citeseer MLP + NGM  65.6     66.2     66.0     65.9 +- 0.2   67.8    1              1-2
  Cora GCN + NGM      80.2     80.6     80.4     80.4 +- 0.2   81.4    1              3-4
  Citeseer GCN + NGM  67.8     68.8     67.6     68.1 +- 0.5   68.9    1              6-7
    seeds 0-9 (2026-12-07): Citeseer MLP + NGM 66.6 +- 0.7, Citeseer MLP_128 49.6 +- 0.9,
    Cora GCN + NGM 80.6 +- 0.7 (1-2 min a seed)
  Cora MLP + GAM      78.8     81.3     80.1     80.1 +- 1.0   80.2    23/3, 25/20, 21/9  26-42
  Cora GCN + GAM      83.5     83.3     83.7     83.5 +- 0.2   84.8    8 (cut)/5, 4, 5    27-30
  Citeseer MLP + GAM  72.7     73.0     73.3     73.0 +- 0.2   73.2    54/37, 46/20, 52/26  52, 38, 57
    (the 100-round default, each seed ending by itself; capped at 12 rounds seed 0 gave 70.0)
  Citeseer GCN + GAM  70.7     72.6     68.5     70.6 +- 1.7   72.2    5 (stopped)/4, 8 (cut)/7, 3 (stopped)/2  35, 21, 23
    --full_graph_passes=two, Cora GCN + GAM: 83.4 (seed 0; best round 5)
    --full_graph_batch=sampled, Cora GCN + GAM: 84.4, 82.9, 83.9 (83.7 +- 0.6; rounds 6, 4, 5)
  Cora MLP + GAM*     67.0     66.0     67.6     66.9 +- 0.7   70.7    18/3, 19/15, 17/6  23-25
    --random_pairs=pools: 68.1 (seed 0; 20 rounds, best 5)
  Cora GCN + GAM*     81.9     83.0     82.1     82.3 +- 0.5   84.2    10 (cut)/9, 7, 7   17, 21, 17
  Citeseer MLP + GAM* 69.8     62.7     68.1     66.9 +- 3.0   70.3    17 (stopped)/8, 12 (cut)/7, 12 (cut)/11  50, 21, 22
    line 62 as committed (it omits --use_graph=False, so the graph is used): --variant=gam
    --num_pairs_reg=512 --num_samples_to_label=200 --reg_weight_lu=10 --reg_weight_uu=5
    --min_confidence_new_label=0.4: 69.4, 70.4, 69.8 = 69.9 +- 0.4 (13 ended/11, 15 cut/10,
    15 cut/13; 15-22 min); the reference code, seed 1234: 70.1 (15 rounds ended/11, 35 min)
  Citeseer GCN + GAM* 71.6     74.8     71.6     72.7 +- 1.5   71.3    8 (cut)/7, 6, 6    30, 33, 19
  The reference code run here (benchmarks/run_gam_reference.py, TF 2.21 compat.v1), Cora MLP + GAM
  seed 111, rounds 0-12: 52.5 77.7 78.6 78.0 79.1 78.4 79.7 79.2 79.8 78.3 78.7 78.9 77.6, best
  validation round 10 (test 78.7) when stopped; Cora MLP + GAM* seed 1234, rounds 0-18
  (2026-12-07): 53.9 56.5 62.4 66.8 67.1 69.8 68.4 67.0 67.7 66.0 65.5 66.8 64.6 63.7 64.2 64.4
  61.2 64.4 60.9 (stopped), best validation round 4: 67.1 (103 min); Cora GCN + GAM seed 111 (line
  45), rounds 0-9: 81.5 80.7 81.9 81.9 83.7 83.6 83.4 83.0 83.4 83.4, ending by itself (no
  candidate left), best validation round 6: 83.4 (80 min); its NGM commands with two rounds (round
  0 the plain classifier, round 1 NGM), seeds 1234, 111, 333: Cora GCN 80.4/80.7, 80.3/79.0,
  80.6/80.7 (line 43), Citeseer MLP 47.5/67.7, 48.7/66.6, 50.7/66.9 (line 58) and seeds 0-5
  49.4/66.4, 50.3/66.5, 49.0/63.6, 50.8/67.7, 48.4/66.1, 49.1/65.8 (nine seeds 49.3 +- 1.0 / 66.4
  +- 1.2: our seeds 0-2 were the low end, not a gap to the code); Citeseer GCN + GAM seed 111
  (line 88): rounds 0-2 68.9 68.5 69.6, best validation still round 0 (val 0.710) when stopped for
  time (about 25 min a round). README.md sets these beside our rows.

Measured with the defaults (the reference settings), test accuracy %, on 2 CPU cores shared
with other jobs (load 5-30, so the seconds are upper bounds); logs in /work/notes/gam
(the full-batch GCN runs in /work/notes/gam2):

  row                 seed 0   seed 1   seed 2   mean +- std   paper   rounds run        s/seed
  Cora MLP_128        52.2     54.3     55.6     54.0 +- 1.4   51.7    (iteration 0)
  Cora MLP + GAM      81.8     81.5     80.5     81.3 +- 0.6   80.2    28 (pool used up) 953 (seed 0)
  Cora GCN_128        81.5     81.3     80.7     81.2 +- 0.3   80.9    (iteration 0)
  Cora GCN + GAM      83.3     83.2     84.1     83.5 +- 0.4   84.8    8 of 1000 (cut)   743, 748, 790
  Citeseer MLP_128    50.1     52.5     49.7     50.8 +- 1.2   52.2    (iteration 0)     11
  Citeseer MLP + GAM  70.8     66.7     68.9     68.8 +- 1.7   73.2    12 of 100 (capped) 1309, 1320, 802
  Citeseer GCN_128    67.8     69.2     69.0     68.7 +- 0.6   68.1    (iteration 0)
  Citeseer GCN + GAM  70.7     72.4     68.5     70.5 +- 1.6   72.2    4, 8 (cut), 2      806, 1419, 473
  (seeds 0 and 2 stop when no candidate clears confidence 0.4, largest 0.353 and 0.397; seed 1
  is cut at 8 rounds, best validation round 6, round 7 tests 73.7 at val 0.754 against 0.758.)
  MLP rows with --node_batch=epochs (the default since 2026-12-03; the MLP rows above and the
  NGM and GAM* MLP rows below without this heading were measured with --node_batch=sampled):
  Cora MLP + GAM      77.8     80.2     81.5     79.8 +- 1.5   80.2    20, 19, 22 (stopped) 1563, 1459, 1687
  Citeseer MLP + GAM  70.9     69.6     67.7     69.4 +- 1.3   73.2    12 of 100 (capped) 1407, 1127, 1263
  Cora MLP + GAM*     68.3     69.3     67.0     68.2 +- 0.9   70.7    21, 14, 17          721, 401, 800
  Citeseer MLP + GAM* 70.9     65.4     65.4     67.2 +- 2.6   70.3    25, 16, 19          4576, 1760, 1315
  GCN rows with --full_graph_batch=sampled (the default before 2026-12-03: 128 labeled nodes
  sampled with replacement each step; the reference's GCN trainer takes them all):
  Cora GCN_128        82.0     82.5     81.5     82.0 +- 0.4   80.9    (iteration 0)     67-98
  Cora GCN + GAM      85.4     83.5     84.5     84.5 +- 0.8   84.8    8 of 1000 (cut)   4067, 1049, 1250
  Citeseer GCN_128    69.7     69.5     70.1     69.8 +- 0.2   68.1    (iteration 0)     134-147
  Citeseer GCN + GAM  69.7     72.3     70.8     70.9 +- 1.1   72.2    2, 7, 6 (stopped) 433, 2181, 989
  (each stops when no candidate clears confidence 0.4: after rounds 1, 6 and 5, largest 0.343,
  0.258 and 0.192; seeds 1 and 2 self-label 185 and 197 nodes in round 1, 85% and 82% right.)
    --min_confidence_new_label=0.0:
                      71.3     -        -        (1 seed)      72.2    10 of 50 (capped) 2813

  NGM (3 seeds)       seed 0   seed 1   seed 2   mean +- std   paper    s/seed
  Cora MLP + NGM      76.7     77.6     77.2     77.2 +- 0.4   77.7     78-117
  Citeseer MLP + NGM  63.9     64.9     65.5     64.8 +- 0.7   67.8     66-93
  --node_batch=epochs (the reference MLP trainer's shuffled passes; same seeds):
  Cora MLP_128        51.1     53.4     54.0     52.8 +- 1.3   51.7     19-29
  Citeseer MLP_128    49.6     50.0     49.1     49.6 +- 0.4   52.2     40-75
  Cora MLP + NGM      77.4     76.8     78.7     77.6 +- 0.8   77.7     94-118
  Citeseer MLP + NGM  66.2     67.4     67.2     66.9 +- 0.5   67.8     91-123
  Cora GCN + NGM      80.2     80.6     81.0     80.6 +- 0.3   81.4     79-82
  Citeseer GCN + NGM  67.2     69.2     67.7     68.0 +- 0.9   68.9     143-148
  sampled batches:
  Cora GCN + NGM      82.1     81.6     81.3     81.7 +- 0.3   81.4     255, 83, 136
  Citeseer GCN + NGM  66.6     69.1     68.1     67.9 +- 1.0   68.9     511, 226, 196

  GAM* (3 seeds)      seed 0   seed 1   seed 2   mean +- std   paper    s/seed
  Cora MLP + GAM*     68.3     67.4     68.5     68.1 +- 0.5   70.7     544, 711, 456
  Citeseer MLP + GAM* 69.6     68.9     64.0     67.5 +- 2.5   70.3     2207, 3445, 1769
  Cora GCN + GAM*     81.8     83.5     80.7     82.0 +- 1.2   84.2     900, 1083, 1493
  (10 of 1000 rounds (cut), best validation rounds 9, 4 and 0; self-labels 86-90% right
  over all rounds; seed 2's round 6 ties its round 0 on validation, 0.796, first kept.)
  Citeseer GCN + GAM* 71.6     74.0     71.1     72.2 +- 1.3   71.3     1528, 1984, 1897
  (8 of 1000 rounds (cut), best validation rounds 7, 6 and 6; no seed stops at the floor.)
  GCN + GAM* with --full_graph_batch=sampled:
  Cora GCN + GAM*     82.7     82.5     83.6     82.9 +- 0.5   84.2     1674, 766, 2056
  (14, 4 and 21 rounds, best validation rounds 5, 0 and 8; seed 1 stopped in
  round 3 with no candidate above confidence 0.4, largest 0.387.)
  Citeseer GCN + GAM* 72.0     70.8     72.0     71.6 +- 0.6   71.3     16+ (cut), 830, 3294
  (seed 0: best validation round 7, none better through round 15; seeds 1 and 2 stopped in
  rounds 3 and 20 with no candidate above 0.4, largest 0.378 and 0.361; seed 2 best round 8.)
  Notes on the MLP + GAM* rows. Cora (2026-12-02, nice 15 beside other jobs): 19, 25, 17
  rounds, best validation rounds 6, 12, 4. The self-labels of each round, scored for the log
  only: 76-90% correct in the first 4 rounds, 0-70% after round 5, so all self-labels are
  67-69% correct at the end; the rounds after the best one add mostly wrong labels and
  validation picks an early round. The row is 2.6 short; why the reference's agreement model
  labels better without the graph is not measured. Citeseer: seed 0 22 rounds, best 9 (nice
  15, 11 min paused); seed 1 22 rounds, best 9; seed 2 20 rounds, best 6. Self-labels correct
  in rounds 1-2: 81%, 79% on seed 1, 70%, 74% on seed 2, whose plain MLP is the weakest
  (49.7); after rounds 5-6, 49-67% on both.

Cora MLP + GAM stopped by itself (no node above confidence 0.9 left); best validation round
20. With sampled batches Citeseer GCN + GAM seed 0 labels nothing in round 1 and stops:
the GCN (row-normalized features, Adam 1e-3) peaks on validation after 100-200 steps, where
its predictions are near uniform (round 1: largest top probability 0.343 of 1,707
candidates, under the 0.4 floor); seeds 1 and 2 stop the same way after rounds 6 and 5;
README.md gives the measurements. With the floor at 0 seed 0's round 1 labels are 81% right
and 10 rounds reach 71.3 (best validation round 9). Sampled Cora GCN + GAM was cut after 8
iterations for time: best validation rounds 5, 4 and 5; on seed 0, rounds 6 and 7 added 44
and 10 labels at val 0.822 and 0.814. Citeseer MLP + GAM was capped
at 12 iterations (`--max_num_iter_cotrain=12`) in these earlier runs, estimating 3-5 hours a
seed for the 100 rounds; run to the end with the 2026-12-04 defaults (the block above) each
seed ends by itself after 46-54 rounds in 38-57 minutes and the row is 73.0 against 73.2. Seed 0 ran 18 iterations: its best validation
round stays 10 (val 0.750, test 70.8); rounds 12-17 reach val 0.746 at most while test rises
to 71.8-73.2 (round 16: val 0.746, test 73.2). Seed 1's validation ties at 0.732 in rounds
6 and 11, whose test accuracies are 66.7 and 70.8 (first on ties, as in the reference);
seed 2's best validation round 5 (val 0.732) tests 68.9, round 4 (0.724) 70.7. The
row stays short where the 500 validation nodes choose the round: one validation node (0.002)
separates rounds whose test accuracies differ by 2-4 points. Citeseer MLP_128 is 1.4 under
52.2 with a seed spread of 2.8 (49.7-52.5); the GCN baselines are 0.3 (Cora) and 0.6
(Citeseer) over theirs (1.1 and 1.7 sampled). Citeseer MLP + NGM stays 3.0 under 67.8 with
sampled batches (0.9 with --node_batch=epochs), a pre-fix figure (see
above; Citeseer GCN + NGM is now within 1.0): before 52ea737 the reference's LU term was its
labeled->unlabeled edges plus the unlabeled->labeled ones, and on the latter the left side
was the one-hot true label of the unlabeled end and the right side the prediction at the
labeled end (`_construct_feed_dict` and `edge_iterator` of trainer_classification.py at
52ea737^), so NGM's labeled nodes were also pulled towards their neighbours' true labels.
With --node_batch=epochs the gap is 0.9, so most of the 3.0 was the batching (graphnsl has no
way to read those labels, on purpose).
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

# Where the settings come from (tensorflow/neural-structured-learning).
RUN_CONFIGS = "research/gam/run_configs.txt @ 283deef"
FLAG_DEFAULTS = "research/gam/gam/experiments/run_train_gam_graph.py @ 283deef"

# The README's updated table (img/gam-updated-results.png), test accuracy as fractions.
PAPER = {
    ("cora", "mlp", "baseline"): 0.517,
    ("cora", "mlp", "ngm"): 0.777,
    ("cora", "mlp", "gam"): 0.802,
    ("cora", "mlp", "gam_star"): 0.707,
    ("cora", "gcn", "baseline"): 0.809,
    ("cora", "gcn", "ngm"): 0.814,
    ("cora", "gcn", "gam"): 0.848,
    ("cora", "gcn", "gam_star"): 0.842,
    ("citeseer", "mlp", "baseline"): 0.522,
    ("citeseer", "mlp", "ngm"): 0.678,
    ("citeseer", "mlp", "gam"): 0.732,
    ("citeseer", "mlp", "gam_star"): 0.703,
    ("citeseer", "gcn", "baseline"): 0.681,
    ("citeseer", "gcn", "ngm"): 0.689,
    ("citeseer", "gcn", "gam"): 0.722,
    ("citeseer", "gcn", "gam_star"): 0.713,
}

# Flags every command of the table sets alike (all of lines 15-90 of RUN_CONFIGS), or leaves
# to FLAG_DEFAULTS: batch sizes 128 (lines 155-157 there), first_iter_original, Adam 1e-3,
# patience 2000 for both models, hidden 128 (the agreement model's encoder), dist
# aggregation, negative edges for the agreement model, min/max classifier and agreement
# steps 200/100000 (lines 90-107 there), validation every 5/10 steps (lines 177-182 there).
COMMON = dict(
    batch_size_cls=128,
    batch_size_agr=128,
    first_iter_original=True,
    learning_rate_cls=1e-3,
    learning_rate_agr=1e-3,
    num_iter_after_best_val_cls=2000,
    num_iter_after_best_val_agr=2000,
    hidden_agr=(128,),
    aggregation_agr="dist",
    add_negative_edges_agr=True,
    min_num_iter_cls=200,
    max_num_iter_cls=100000,
    min_num_iter_agr=200,
    max_num_iter_agr=100000,
    eval_step_cls=5,
    eval_step_agr=10,
    reg_weight_ll=0.0,
    # How the reference's trainers draw and stop (gam/trainer/ @ 283deef), CotrainConfig's
    # defaults since 2026-12-04, spelled out here: the agreement term's LL group holds the
    # label-matching LL edges (trainer_classification.py:662) and a pool smaller than
    # num_pairs_reg comes whole (trainer_base.py:42), the mean running over all the pairs
    # (trainer_classification.py:528); the agreement model validates on held-out directed
    # edges as they are (trainer_agreement.py:943), trains one step with none held out
    # (:662) and stops at 100% validation accuracy (:715); GAM* draws new random pairs every
    # classifier step (trainer_classification.py:794-800).
    reg_pairs="reference",
    agr_stopping="reference",
    random_pairs="fresh",
)

# NGM: always_agree, one round, the default agreement weights 0.1/0.05 (FLAG_DEFAULTS lines
# 199-202). The reference's NGM commands say `--max_num_iter_cotrain=1
# --first_iter_original=True`, which trains the plain classifier only (iteration 0 has no
# agreement term); one round with the term is `first_iter_original=False`, one iteration.
_NGM = dict(
    always_agree=True,
    max_num_iter_cotrain=1,
    first_iter_original=False,
    reg_weight_lu=0.1,
    reg_weight_uu=0.05,
)

# (dataset, classifier, variant) -> (line of RUN_CONFIGS, settings beyond COMMON).
# `row_normalize` is a data option (gam.from_planetoid), the rest CotrainConfig fields.
REFERENCE = {
    ("cora", "mlp", "ngm"): (15, dict(_NGM, num_pairs_reg=128, num_samples_to_label=200)),
    ("cora", "mlp", "gam"): (
        21,
        dict(
            num_pairs_reg=128,
            num_samples_to_label=200,
            max_num_iter_cotrain=100,
            reg_weight_lu=1.0,
            reg_weight_uu=0.5,
            keep_label_proportions=True,
            min_confidence_new_label=0.9,
            row_normalize=False,
        ),
    ),
    ("cora", "mlp", "gam_star"): (
        23,
        dict(
            num_pairs_reg=128,
            num_samples_to_label=200,
            max_num_iter_cotrain=1000,
            reg_weight_lu=100.0,
            reg_weight_uu=50.0,
            keep_label_proportions=True,
            use_graph=False,
            penalize_neg_agr=True,
            min_confidence_new_label=0.4,
        ),
    ),
    ("cora", "gcn", "ngm"): (43, dict(_NGM, num_pairs_reg=512, num_samples_to_label=200)),
    ("cora", "gcn", "gam"): (
        45,
        dict(
            num_pairs_reg=512,
            num_samples_to_label=200,
            max_num_iter_cotrain=1000,
            reg_weight_lu=1.0,
            reg_weight_uu=0.5,
            keep_label_proportions=False,
            min_confidence_new_label=0.4,
            row_normalize=False,
        ),
    ),
    ("cora", "gcn", "gam_star"): (
        47,
        dict(
            num_pairs_reg=512,
            num_samples_to_label=200,
            max_num_iter_cotrain=1000,
            reg_weight_lu=10.0,
            reg_weight_uu=5.0,
            keep_label_proportions=True,
            use_graph=False,
            min_confidence_new_label=0.4,
        ),
    ),
    ("citeseer", "mlp", "ngm"): (58, dict(_NGM, num_pairs_reg=128, num_samples_to_label=200)),
    ("citeseer", "mlp", "gam"): (
        60,
        dict(
            num_pairs_reg=128,
            num_samples_to_label=50,
            max_num_iter_cotrain=100,
            reg_weight_lu=0.1,
            reg_weight_uu=0.05,
            keep_label_proportions=True,
            min_confidence_new_label=0.9,
            row_normalize=False,
        ),
    ),
    # Line 62 omits --use_graph (its default is True); the README's table shades GAM* as a
    # method that does not use the graph, so use_graph=False as on the other GAM* lines.
    # Run as committed, with the graph, it comes within 0.4 of the table's 70.3: the
    # reference code 70.1 (seed 1234), graphnsl the same settings with the graph
    # (--variant=gam with this row's overrides) 69.9 +- 0.4 on seeds 0-2 (README.md, 2026-12-07).
    ("citeseer", "mlp", "gam_star"): (
        62,
        dict(
            num_pairs_reg=512,
            num_samples_to_label=200,
            max_num_iter_cotrain=1000,
            reg_weight_lu=10.0,
            reg_weight_uu=5.0,
            keep_label_proportions=True,
            use_graph=False,
            min_confidence_new_label=0.4,
        ),
    ),
    ("citeseer", "gcn", "ngm"): (86, dict(_NGM, num_pairs_reg=512, num_samples_to_label=200)),
    ("citeseer", "gcn", "gam"): (
        88,
        dict(
            num_pairs_reg=512,
            num_samples_to_label=200,
            max_num_iter_cotrain=50,
            reg_weight_lu=0.01,
            reg_weight_uu=0.005,
            keep_label_proportions=True,
            min_confidence_new_label=0.4,
            row_normalize=True,
        ),
    ),
    ("citeseer", "gcn", "gam_star"): (
        90,
        dict(
            num_pairs_reg=512,
            num_samples_to_label=200,
            max_num_iter_cotrain=1000,
            reg_weight_lu=10.0,
            reg_weight_uu=5.0,
            keep_label_proportions=True,
            use_graph=False,
            min_confidence_new_label=0.4,
        ),
    ),
}

# Our choices (graphnsl's, not the reference's), turned on together by --ours.
OURS = dict(agr_train_pairs="labeled", edge_prior_agr=True, label_proportions_from="predicted")
# The reference's values of the same fields.
THEIRS = dict(agr_train_pairs="edges", edge_prior_agr=False, label_proportions_from="train")

NAMES = {"gam": "GAM", "ngm": "NGM", "gam_star": "GAM*"}


# CotrainConfig's string fields the command line can set (valid values: gam.config.CHOICES).
ENUM_FLAGS = {
    "agr_train_pairs": (
        "Agreement training pairs: the labeled graph edges plus random negatives (the "
        "reference) or any balanced pairs of labeled nodes (ours)."
    ),
    "label_proportions_from": (
        "Self-label quotas per class from the training labels' shares (the reference) or "
        "the classifier's predicted shares on the candidates, each round (ours)."
    ),
    "full_graph_batch": (
        "GCN steps on every labeled node (the reference) or on batch_size_cls sampled ones."
    ),
    "full_graph_passes": (
        "GCN forward passes a step: one, read by both loss terms, or two, the agreement term "
        "reading a second pass with its own dropout masks (the reference)."
    ),
    "node_batch": (
        "MLP steps on batch_size_cls labeled nodes sampled with replacement or taken in "
        "shuffled passes over the labeled set (the reference)."
    ),
    "agr_stopping": (
        "Agreement model: the reference's validation (directed held-out edges, unbalanced) "
        "and stop at 100% validation accuracy, or balanced validation and patience only."
    ),
    "random_pairs": (
        "GAM*: new random pairs each classifier step (the reference) or fixed pools of 20,000 "
        "drawn once an iteration."
    ),
    "reg_pairs": (
        "Agreement-term pairs a classifier step: the reference's (agreeing LL edges only, a "
        "pool smaller than num_pairs_reg whole) or num_pairs_reg sampled from every pool."
    ),
}


def settings(dataset: str, classifier: str, variant: str) -> dict:
    """Returns the reference settings of one table row: COMMON, then the row's own values.

    Args:
      dataset: 'cora' or 'citeseer'.
      classifier: 'mlp' or 'gcn'.
      variant: 'gam', 'ngm' or 'gam_star'.

    Returns:
      A dict of CotrainConfig fields plus `row_normalize`, with THEIRS for our options.
    """
    key = (dataset, classifier, variant)
    if key not in REFERENCE:
        raise ValueError(f"no reference settings for {key}; datasets cora/citeseer, mlp/gcn.")
    _, row = REFERENCE[key]
    options = dict(COMMON, **THEIRS)
    options.update(row)
    options.setdefault("row_normalize", False)
    return options


def define_flags() -> None:
    flags.DEFINE_list("dataset", ["cora"], "cora and/or citeseer.")
    flags.DEFINE_list("classifier", ["mlp"], "mlp and/or gcn.")
    flags.DEFINE_enum("variant", "gam", ["gam", "ngm", "gam_star"], "GAM, NGM or GAM*.")
    flags.DEFINE_integer("seeds", 1, "Runs per configuration.")
    flags.DEFINE_integer("first_seed", 0, "Seeds first_seed .. first_seed + seeds - 1.")
    flags.DEFINE_string("output_json", None, "Write the result rows to this JSON file.")
    flags.DEFINE_string(
        "records_json", None, "Write every run's per-iteration records to this JSON file."
    )
    flags.DEFINE_string("data_dir", None, "Folder with ind.<name>.* (default: the data layer's).")
    flags.DEFINE_string(
        "summary_dir", None, "TensorBoard summaries under DIR/<dataset>_<cls>_<seed>."
    )
    flags.DEFINE_integer("patience", None, "Override num_iter_after_best_val_{cls,agr}.")
    flags.DEFINE_integer("max_num_iter_cotrain", None, "Cap the co-training iterations.")
    flags.DEFINE_float("reg_weight_lu", None, "Override the labeled-unlabeled weight.")
    flags.DEFINE_float("reg_weight_uu", None, "Override the unlabeled-unlabeled weight.")
    flags.DEFINE_integer("num_pairs_reg", None, "Override the pairs per regularization step.")
    flags.DEFINE_integer("num_samples_to_label", None, "Override the self-labels per round.")
    flags.DEFINE_float("min_confidence_new_label", None, "Override the self-label threshold.")
    flags.DEFINE_bool(
        "ours",
        False,
        "Our choices instead of the reference's: --agr_train_pairs=labeled --edge_prior_agr "
        "--label_proportions_from=predicted (each flag below still overrides).",
    )
    flags.DEFINE_bool(
        "edge_prior_agr",
        None,
        "Shift the agreement logit to the labeled edges' agreement log odds (ours).",
    )
    flags.DEFINE_bool(
        "recheck_self_labels",
        False,
        "Drop earlier self-labels the classifier no longer predicts (confidently) before each "
        "self-labeling step (ours).",
    )
    from graphnsl.gam.config import CHOICES

    for name, text in ENUM_FLAGS.items():
        flags.DEFINE_enum(name, None, list(CHOICES[name]), text)
    flags.DEFINE_bool("verbose", True, "Per-iteration lines and a progress bar.")


def options_from_flags(dataset: str, classifier: str) -> dict:
    """The row's reference settings with the command line's choices applied."""
    f = flags.FLAGS
    options = settings(dataset, classifier, f.variant)
    if f.ours:
        options.update(OURS)
    for name in ("edge_prior_agr", *ENUM_FLAGS):
        if getattr(f, name) is not None:
            options[name] = getattr(f, name)
    options["recheck_self_labels"] = f.recheck_self_labels
    if f.patience is not None:
        options.update(
            num_iter_after_best_val_cls=f.patience, num_iter_after_best_val_agr=f.patience
        )
    overrides = (
        "reg_weight_lu",
        "reg_weight_uu",
        "num_pairs_reg",
        "num_samples_to_label",
        "min_confidence_new_label",
    )
    for name in overrides:
        if getattr(f, name) is not None:
            options[name] = getattr(f, name)
    if f.max_num_iter_cotrain is not None:
        options["max_num_iter_cotrain"] = min(
            options["max_num_iter_cotrain"], f.max_num_iter_cotrain
        )
    return options


def main(argv) -> None:
    del argv
    from graphnsl import gam
    from graphnsl.data import planetoid

    f = flags.FLAGS
    suffix = NAMES[f.variant]
    rows, comparison, records = [], [], []
    for dataset in f.dataset:
        if dataset not in ("cora", "citeseer"):
            raise app.UsageError(f"--dataset={dataset!r}: use cora or citeseer.")
        loaded = planetoid.load(dataset, f.data_dir)
        for classifier in f.classifier:
            if classifier not in ("mlp", "gcn"):
                raise app.UsageError(f"--classifier={classifier!r}: use mlp or gcn.")
            options = options_from_flags(dataset, classifier)
            data = gam.from_planetoid(loaded, row_normalize=options.pop("row_normalize"))
            line, _ = REFERENCE[(dataset, classifier, f.variant)]
            print(f"{dataset} {classifier} {f.variant}: {RUN_CONFIGS} line {line}; {options}")
            base_acc, acc, secs, iterations = [], [], [], []
            for seed in range(f.first_seed, f.first_seed + f.seeds):
                summary = None
                if f.summary_dir:
                    summary = os.path.join(f.summary_dir, f"{dataset}_{classifier}_{seed}")
                config = gam.CotrainConfig(
                    seed=seed, verbose=f.verbose, summary_dir=summary, **options
                )
                start = time.perf_counter()
                result = gam.cotrain(data, classifier, config)
                seconds = time.perf_counter() - start
                base_acc.append(result.baseline_test_accuracy)
                acc.append(result.test_accuracy)
                secs.append(seconds)
                iterations.append(len(result.iterations))
                records.append(
                    dict(
                        dataset=dataset,
                        classifier=classifier,
                        variant=f.variant,
                        seed=seed,
                        options={
                            k: list(v) if isinstance(v, tuple) else v for k, v in options.items()
                        },
                        seconds=seconds,
                        best_iteration=result.best_iteration,
                        test_accuracy=result.test_accuracy,
                        baseline_test_accuracy=result.baseline_test_accuracy,
                        iterations=[vars(r) for r in result.iterations],
                    )
                )
                print(
                    f"{dataset} {classifier} {f.variant} seed {seed}: iteration 0 "
                    f"{result.baseline_test_accuracy:.4f}, {suffix} {result.test_accuracy:.4f} "
                    f"(best iteration {result.best_iteration} of {len(result.iterations)}, "
                    f"val {result.best_val_accuracy:.4f}, {seconds:.0f} s)",
                    flush=True,
                )
            name = classifier.upper() + "_128"
            if f.variant == "gam":
                rows.append(common.result_row(name, dataset, base_acc, 0.0))
                comparison.append(
                    (dataset, name, rows[-1], PAPER[(dataset, classifier, "baseline")])
                )
            rows.append(common.result_row(f"{name} + {suffix}", dataset, acc, secs))
            paper = PAPER[(dataset, classifier, f.variant)]
            comparison.append((dataset, f"{name} + {suffix}", rows[-1], paper, iterations))
    common.print_table(rows)
    print("\nBeside the reference's updated table (test accuracy, %):")
    for dataset, model, row, paper, *rest in comparison:
        ours = f"{100 * row['test_accuracy_mean']:.1f} ± {100 * row['test_accuracy_std']:.1f}"
        gap = 100 * (row["test_accuracy_mean"] - paper)
        tail = ""
        if rest:
            tail = f"  iterations {rest[0]}  {row['train_seconds'] / row['seeds']:.0f} s/seed"
        print(f"  {dataset:9s} {model:16s} ours {ours}  paper {100 * paper:.1f} ({gap:+.1f}){tail}")
    if f.output_json:
        common.write_results_json(f.output_json, rows)
        print(f"wrote {f.output_json}")
    if f.records_json:
        tmp = f.records_json + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(records, handle, indent=1)
        os.replace(tmp, f.records_json)
        print(f"wrote {f.records_json}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
