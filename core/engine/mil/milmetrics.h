// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <optional>
#include <vector>

namespace icmil::engine {

// Classification metrics for MIL heads, as the ICMIL reference computes them with scikit-learn
// (roc_curve, roc_auc_score, f1_score) and its optimal_thresh. Plain vectors, no LibTorch.
// Where scikit-learn warns and returns NaN (a class absent), rocCurve/rocAuc throw EngineError;
// classificationMetrics reports NaN instead so one odd fold does not end a training run.

struct RocPoint {
    double fpr = 0;
    double tpr = 0;
    double threshold = 0; // a sample's score: predict positive when score >= threshold
};

// Binary ROC of `scores` for the positive class (labels 0/1), as sklearn.metrics.roc_curve with
// drop_intermediate=False: (0, 0, +infinity) first, then one point per distinct score, descending;
// the last point is (1, 1, lowest score). fpr = FP / N and tpr = TP / P, divided as sklearn does.
// Throws EngineError when sizes differ, a label is not 0/1, a score is NaN or infinite (sklearn
// rejects both), or a class is absent ("ROC needs both classes: all 12 labels are 1").
std::vector<RocPoint> rocCurve(const std::vector<int> &labels, const std::vector<double> &scores);

// Area under the ROC curve with tied scores counted half: the Mann–Whitney U over P·N, computed
// from exact pair counts. Equals sklearn's roc_auc_score (its trapezoids) up to rounding.
// Throws as rocCurve does.
double rocAuc(const std::vector<int> &labels, const std::vector<double> &scores);

// The reference's optimal_thresh with p = 0: the point of least fpr − tpr (largest Youden J =
// tpr − fpr), compared in the same floating-point arithmetic as numpy; on ties the first in curve
// order, i.e. the highest threshold. One departure: a +infinity-threshold point (which predicts
// nothing positive) is never chosen when a finite point reaches the same J; the first such finite
// point is returned instead (e.g. all scores equal: the reference gives +inf, this the score).
// It is returned only when it alone is the maximum or the curve has no finite point.
// Throws EngineError for an empty curve.
RocPoint youdenPoint(const std::vector<RocPoint> &curve);

struct ClassificationMetrics {
    int count = 0;
    int classes = 0;
    // Binary: AUC of p[:, 1]. C > 2: macro mean of perClassAuc over the classes where it is
    // defined. NaN when no class has both positives and negatives.
    double auc = 0;
    // One-vs-rest AUC of p[:, c] per class; NaN where class c is absent or is every sample.
    std::vector<double> perClassAuc;
    // Predictions are argmax over the row, ties to the lowest class index (numpy's argmax).
    double accuracy = 0;
    // Binary: F1 of class 1. C > 2: macro F1 over the classes that occur in the labels or the
    // predictions (sklearn's default labels); a class in neither is left out. A class's F1 is
    // 2TP / (2TP + FP + FN), 0 when that is 0 / 0 (sklearn's zero_division).
    double f1 = 0;
    std::vector<std::vector<int>> confusion; // [true][predicted], argmax predictions
    // Binary only, when a threshold is given: predictions p[:, 1] >= threshold.
    bool hasThreshold = false;
    double threshold = 0;
    double thresholdAccuracy = 0;
    double thresholdF1 = 0;
    // Binary: TP / (TP + FN) and TN / (TN + FP) at the threshold when given, else for argmax
    // predictions; NaN when the class they divide by is absent. Left 0 for C > 2.
    double sensitivity = 0;
    double specificity = 0;
};

// `probabilities`: count x classes, row-major (any scores; rows need not sum to 1); labels in
// [0, classes); classes >= 2; count >= 1. `threshold`: binary only.
// Throws EngineError for a size mismatch, a label out of range, a non-finite probability, fewer
// than 2 classes, no samples, or a threshold that is NaN or given for C > 2.
ClassificationMetrics classificationMetrics(const std::vector<int> &labels, const std::vector<double> &probabilities, int classes,
                                            std::optional<double> threshold = std::nullopt);

// The threshold to use on test data, chosen on validation data (binary, probabilities count x 2):
// youdenPoint(rocCurve(labels, p[:, 1])).threshold, always a finite score. Throws as rocCurve
// does, and for a probabilities size other than 2 x labels.
double chooseOperatingThreshold(const std::vector<int> &labels, const std::vector<double> &probabilities);

} // namespace icmil::engine
