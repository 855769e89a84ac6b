"""Fits scikit-learn's LogisticRegression on the .npy files ProbeBenchmark writes and reports it.

Usage: python3 sklearn_logistic.py DIR C TOL MAX_ITER
DIR holds X_train.npy, y_train.npy, X_test.npy, y_test.npy (float32); writes DIR/sklearn.json with
coefficients, intercepts, iterations, fit seconds and accuracies. Loupe's reference for agreement
tests and timings (docs/BENCHMARKS.md).
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss


def main():
    folder, c, tol, max_iter = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    x_train = np.load(os.path.join(folder, "X_train.npy")).astype(np.float64)
    y_train = np.load(os.path.join(folder, "y_train.npy")).astype(np.int64)
    x_test = np.load(os.path.join(folder, "X_test.npy")).astype(np.float64)
    y_test = np.load(os.path.join(folder, "y_test.npy")).astype(np.int64)
    model = LogisticRegression(C=c, solver="lbfgs", tol=tol, max_iter=max_iter)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    # Loupe's (summed) form of the objective, to compare how far each solver went.
    objective = 0.5 * float(np.sum(model.coef_ ** 2)) + c * float(
        log_loss(y_train, model.predict_proba(x_train), normalize=False))
    result = {
        "objective": objective,
        "coefficients": model.coef_.tolist(),
        "intercepts": model.intercept_.tolist(),
        "iterations": int(np.max(model.n_iter_)),
        "seconds": seconds,
        "train_accuracy": float(model.score(x_train, y_train)),
        "test_accuracy": float(model.score(x_test, y_test)),
        "sklearn": __import__("sklearn").__version__,
    }
    target = os.path.join(folder, "sklearn.json")
    with open(target + ".tmp", "w") as out:
        json.dump(result, out)
    os.replace(target + ".tmp", target)


if __name__ == "__main__":
    main()
