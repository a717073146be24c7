#!/usr/bin/python3
"""Train the fraud model millrace scores with, from a training set millrace wrote.

    /usr/bin/python3 tools/train/train.py TRAINING.csv OUT_DIR [--trees N] [--depth D]

TRAINING.csv is what examples/fraud-train.yaml writes: a header, then one row per
transaction. The columns tx_id, fraud_scenario and is_fraud are not features; is_fraud is
the label; every other column is a feature, in the order the file gives them, which is the
order the score clause of a pipeline must list them in. true/false read as 1/0, an empty
field as missing.

It writes into OUT_DIR:
  fraud.xgb            the model, in XGBoost's binary format (github.com/dmitryikh/leaves
                       reads it; millrace converts the 1.x header on load)
  fraud.features       the feature names, one a line, in the model's order
  fraud-expected.csv   a sample of rows with their features and XGBoost's own score, which
                       millrace's tests compare with its scores to 1e-6

It needs Debian's python3-xgboost (1.7) and python3-sklearn only. Training is deterministic:
one thread, a fixed seed.
"""
import argparse
import csv
import math
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score, roc_auc_score

NOT_FEATURES = ("tx_id", "fraud_scenario", "is_fraud")


def value(text):
    if text == "":
        return math.nan
    if text == "true":
        return 1.0
    if text == "false":
        return 0.0
    return float(text)


def read(path):
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if "is_fraud" not in header:
            sys.exit(f"{path}: no is_fraud column (the label); columns are {header}")
        feats = [i for i, name in enumerate(header) if name not in NOT_FEATURES]
        label = header.index("is_fraud")
        ids = header.index("tx_id") if "tx_id" in header else None
        X, y, tx, raw = [], [], [], []
        for line, r in enumerate(rows, start=2):
            try:
                raw.append([r[i] for i in feats])
                X.append([value(r[i]) for i in feats])
            except ValueError as e:
                sys.exit(f"{path}:{line}: {e}")
            y.append(1 if r[label] == "true" else 0)
            tx.append(r[ids] if ids is not None else str(line))
    # Rows in tx_id order: a run at parallelism above 1 writes them in an order of its own,
    # and the model must not depend on it.
    order = sorted(range(len(tx)), key=lambda i: tx[i])
    X, y, tx, raw = [X[i] for i in order], [y[i] for i in order], [tx[i] for i in order], [raw[i] for i in order]
    return [header[i] for i in feats], np.array(X, dtype=np.float32), np.array(y), tx, raw


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("training")
    ap.add_argument("out")
    ap.add_argument("--trees", type=int, default=150)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--sample", type=int, default=400, help="rows in fraud-expected.csv")
    a = ap.parse_args()

    names, X, y, tx, raw = read(a.training)
    if y.sum() == 0:
        sys.exit(f"{a.training}: no row has is_fraud = true")
    print(f"{len(y)} rows, {int(y.sum())} fraud, features: {', '.join(names)}")
    model = xgb.XGBClassifier(n_estimators=a.trees, max_depth=a.depth, learning_rate=0.1,
                              tree_method="hist", n_jobs=1, random_state=0,
                              scale_pos_weight=float((len(y) - y.sum()) / y.sum()))
    model.fit(X, y)
    booster = model.get_booster()
    p = booster.predict(xgb.DMatrix(X, missing=math.nan))
    print(f"on the training set: ROC-AUC {roc_auc_score(y, p):.4f}, PR-AUC {average_precision_score(y, p):.4f}")

    os.makedirs(a.out, exist_ok=True)
    booster.save_model(os.path.join(a.out, "fraud.xgb"))
    with open(os.path.join(a.out, "fraud.features"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    # The features as millrace wrote them (XGBoost read them as float32, as millrace does).
    # The sample: every fraud row among the first rows and the normal rows around them, so
    # that both ends of the score are compared.
    pick = sorted(set(np.flatnonzero(y)[: a.sample // 2]) | set(range(a.sample // 2)))
    with open(os.path.join(a.out, "fraud-expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["tx_id"] + names + ["is_fraud", "expected_score"])
        for i in pick:
            w.writerow([tx[i]] + raw[i] + ["true" if y[i] else "false", f"{float(p[i]):.9g}"])
    print(f"wrote {a.out}/fraud.xgb, fraud.features and fraud-expected.csv ({len(pick)} rows)")


if __name__ == "__main__":
    main()
