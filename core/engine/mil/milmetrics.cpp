// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/milmetrics.h"

#include "engine/engineerror.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

namespace icmil::engine {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Sample indices ordered by descending score; equal scores end up adjacent.
std::vector<std::size_t> descendingOrder(const std::vector<double> &scores)
{
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&scores](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    return order;
}

// Checks what rocCurve and rocAuc accept; returns the number of positives.
std::size_t checkBinaryScores(const std::vector<int> &labels, const std::vector<double> &scores)
{
    if (labels.size() != scores.size())
        throw EngineError("ROC needs one score per label: got " + std::to_string(labels.size()) + " labels and "
                          + std::to_string(scores.size()) + " scores");
    std::size_t positives = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] != 0 && labels[i] != 1)
            throw EngineError("ROC labels must be 0 or 1: sample " + std::to_string(i) + " has label " + std::to_string(labels[i]));
        if (std::isnan(scores[i]))
            throw EngineError("ROC scores must be finite: the score of sample " + std::to_string(i) + " is NaN");
        if (std::isinf(scores[i]))
            throw EngineError("ROC scores must be finite: the score of sample " + std::to_string(i) + " is infinite");
        positives += labels[i] == 1 ? 1 : 0;
    }
    if (labels.empty())
        throw EngineError("ROC needs both classes: there are no labels");
    if (positives == 0 || positives == labels.size())
        throw EngineError("ROC needs both classes: all " + std::to_string(labels.size()) + " labels are " + (positives == 0 ? "0" : "1"));
    return positives;
}

// F1 from counts, 0 for 0 / 0 as sklearn's zero_division does.
double f1FromCounts(std::int64_t truePositives, std::int64_t falsePositives, std::int64_t falseNegatives)
{
    const std::int64_t denominator = 2 * truePositives + falsePositives + falseNegatives;
    return denominator == 0 ? 0.0 : static_cast<double>(2 * truePositives) / static_cast<double>(denominator);
}

double ratioOrNaN(std::int64_t numerator, std::int64_t denominator)
{
    return denominator == 0 ? kNaN : static_cast<double>(numerator) / static_cast<double>(denominator);
}

struct BinaryCounts {
    std::int64_t truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0;
};

BinaryCounts countBinary(const std::vector<int> &labels, const std::vector<int> &predictions)
{
    BinaryCounts counts;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] == 1)
            ++(predictions[i] == 1 ? counts.truePositives : counts.falseNegatives);
        else
            ++(predictions[i] == 1 ? counts.falsePositives : counts.trueNegatives);
    }
    return counts;
}

double accuracyOf(const BinaryCounts &counts, std::size_t count)
{
    return static_cast<double>(counts.truePositives + counts.trueNegatives) / static_cast<double>(count);
}

// One-vs-rest AUC of column `column` for class `positiveClass`; NaN when undefined.
double oneVsRestAuc(const std::vector<int> &labels, const std::vector<double> &probabilities, int classes, int positiveClass)
{
    std::vector<int> binary(labels.size());
    std::vector<double> scores(labels.size());
    std::size_t positives = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        binary[i] = labels[i] == positiveClass ? 1 : 0;
        positives += static_cast<std::size_t>(binary[i]);
        scores[i] = probabilities[i * static_cast<std::size_t>(classes) + static_cast<std::size_t>(positiveClass)];
    }
    if (positives == 0 || positives == labels.size())
        return kNaN;
    return rocAuc(binary, scores);
}

void checkClassificationInput(const std::vector<int> &labels, const std::vector<double> &probabilities, int classes,
                              std::optional<double> threshold)
{
    if (classes < 2)
        throw EngineError("Classification metrics need at least 2 classes, got " + std::to_string(classes));
    if (labels.empty())
        throw EngineError("Classification metrics need at least one sample");
    const std::size_t width = static_cast<std::size_t>(classes);
    if (probabilities.size() != labels.size() * width)
        throw EngineError("Classification metrics need " + std::to_string(classes) + " probabilities per label: got "
                          + std::to_string(probabilities.size()) + " for " + std::to_string(labels.size()) + " labels");
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes)
            throw EngineError("Sample " + std::to_string(i) + " has label " + std::to_string(labels[i]) + ", outside classes 0 to "
                              + std::to_string(classes - 1));
        for (std::size_t c = 0; c < width; ++c) {
            if (!std::isfinite(probabilities[i * width + c]))
                throw EngineError("Sample " + std::to_string(i) + " has a non-finite probability for class " + std::to_string(c));
        }
    }
    if (threshold && classes != 2)
        throw EngineError("An operating threshold applies to binary classification only, not to " + std::to_string(classes) + " classes");
    if (threshold && std::isnan(*threshold))
        throw EngineError("The operating threshold is NaN");
}

} // namespace

std::vector<RocPoint> rocCurve(const std::vector<int> &labels, const std::vector<double> &scores)
{
    const std::size_t positives = checkBinaryScores(labels, scores);
    const std::size_t negatives = labels.size() - positives;
    const std::vector<std::size_t> order = descendingOrder(scores);

    std::vector<RocPoint> curve;
    curve.push_back({0.0, 0.0, std::numeric_limits<double>::infinity()});
    std::size_t truePositives = 0;
    std::size_t falsePositives = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t i = order[k];
        ++(labels[i] == 1 ? truePositives : falsePositives);
        const bool lastOfScore = k + 1 == order.size() || scores[order[k + 1]] != scores[i];
        if (lastOfScore)
            curve.push_back({static_cast<double>(falsePositives) / static_cast<double>(negatives),
                             static_cast<double>(truePositives) / static_cast<double>(positives), scores[i]});
    }
    return curve;
}

double rocAuc(const std::vector<int> &labels, const std::vector<double> &scores)
{
    const std::size_t positives = checkBinaryScores(labels, scores);
    const std::size_t negatives = labels.size() - positives;
    const std::vector<std::size_t> order = descendingOrder(scores);

    // Twice the U statistic, kept exact: for each group of equal scores, its negatives win against
    // every positive above (2 each) and tie with the group's positives (1 each).
    std::uint64_t twiceWins = 0;
    std::uint64_t positivesAbove = 0;
    for (std::size_t start = 0; start < order.size();) {
        std::size_t end = start;
        std::uint64_t groupPositives = 0;
        std::uint64_t groupNegatives = 0;
        while (end < order.size() && scores[order[end]] == scores[order[start]]) {
            ++(labels[order[end]] == 1 ? groupPositives : groupNegatives);
            ++end;
        }
        twiceWins += groupNegatives * (2 * positivesAbove + groupPositives);
        positivesAbove += groupPositives;
        start = end;
    }
    return static_cast<double>(twiceWins) / (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
}

RocPoint youdenPoint(const std::vector<RocPoint> &curve)
{
    if (curve.empty())
        throw EngineError("Youden's point needs a ROC curve with at least one point");
    // loss = fpr - tpr, as the reference computes it; argmin keeps the first of equal losses.
    std::optional<std::size_t> bestFinite;
    std::optional<std::size_t> bestInfinite;
    for (std::size_t i = 0; i < curve.size(); ++i) {
        auto &best = std::isinf(curve[i].threshold) && curve[i].threshold > 0 ? bestInfinite : bestFinite;
        if (!best || curve[i].fpr - curve[i].tpr < curve[*best].fpr - curve[*best].tpr)
            best = i;
    }
    if (!bestFinite)
        return curve[*bestInfinite];
    if (bestInfinite && curve[*bestInfinite].fpr - curve[*bestInfinite].tpr < curve[*bestFinite].fpr - curve[*bestFinite].tpr)
        return curve[*bestInfinite];
    return curve[*bestFinite];
}

ClassificationMetrics classificationMetrics(const std::vector<int> &labels, const std::vector<double> &probabilities, int classes,
                                            std::optional<double> threshold)
{
    checkClassificationInput(labels, probabilities, classes, threshold);
    const std::size_t count = labels.size();
    const std::size_t width = static_cast<std::size_t>(classes);

    ClassificationMetrics metrics;
    metrics.count = static_cast<int>(count);
    metrics.classes = classes;

    std::vector<int> predictions(count);
    metrics.confusion.assign(width, std::vector<int>(width, 0));
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto row = probabilities.begin() + static_cast<std::ptrdiff_t>(i * width);
        // max_element returns the first of equal maxima: numpy's argmax.
        predictions[i] = static_cast<int>(std::max_element(row, row + classes) - row);
        ++metrics.confusion[static_cast<std::size_t>(labels[i])][static_cast<std::size_t>(predictions[i])];
        correct += predictions[i] == labels[i] ? 1 : 0;
    }
    metrics.accuracy = static_cast<double>(correct) / static_cast<double>(count);

    metrics.perClassAuc.resize(width);
    for (int c = 0; c < classes; ++c)
        metrics.perClassAuc[static_cast<std::size_t>(c)] = oneVsRestAuc(labels, probabilities, classes, c);

    if (classes == 2) {
        metrics.auc = metrics.perClassAuc[1];
        const BinaryCounts argmaxCounts = countBinary(labels, predictions);
        metrics.f1 = f1FromCounts(argmaxCounts.truePositives, argmaxCounts.falsePositives, argmaxCounts.falseNegatives);
        BinaryCounts operating = argmaxCounts;
        if (threshold) {
            std::vector<int> thresholded(count);
            for (std::size_t i = 0; i < count; ++i)
                thresholded[i] = probabilities[i * 2 + 1] >= *threshold ? 1 : 0;
            operating = countBinary(labels, thresholded);
            metrics.hasThreshold = true;
            metrics.threshold = *threshold;
            metrics.thresholdAccuracy = accuracyOf(operating, count);
            metrics.thresholdF1 = f1FromCounts(operating.truePositives, operating.falsePositives, operating.falseNegatives);
        }
        metrics.sensitivity = ratioOrNaN(operating.truePositives, operating.truePositives + operating.falseNegatives);
        metrics.specificity = ratioOrNaN(operating.trueNegatives, operating.trueNegatives + operating.falsePositives);
        return metrics;
    }

    double aucSum = 0;
    int aucClasses = 0;
    double f1Sum = 0;
    int f1Classes = 0;
    for (std::size_t c = 0; c < width; ++c) {
        if (!std::isnan(metrics.perClassAuc[c])) {
            aucSum += metrics.perClassAuc[c];
            ++aucClasses;
        }
        std::int64_t truePositives = metrics.confusion[c][c];
        std::int64_t labelled = 0;
        std::int64_t predicted = 0;
        for (std::size_t other = 0; other < width; ++other) {
            labelled += metrics.confusion[c][other];
            predicted += metrics.confusion[other][c];
        }
        if (labelled == 0 && predicted == 0)
            continue;
        f1Sum += f1FromCounts(truePositives, predicted - truePositives, labelled - truePositives);
        ++f1Classes;
    }
    metrics.auc = aucClasses == 0 ? kNaN : aucSum / aucClasses;
    metrics.f1 = f1Sum / f1Classes; // count >= 1, so at least one class occurs
    return metrics;
}

double chooseOperatingThreshold(const std::vector<int> &labels, const std::vector<double> &probabilities)
{
    if (probabilities.size() != labels.size() * 2)
        throw EngineError("Choosing a threshold needs 2 probabilities per label: got " + std::to_string(probabilities.size()) + " for "
                          + std::to_string(labels.size()) + " labels");
    std::vector<double> positiveScores(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i)
        positiveScores[i] = probabilities[i * 2 + 1];
    return youdenPoint(rocCurve(labels, positiveScores)).threshold;
}

} // namespace icmil::engine
