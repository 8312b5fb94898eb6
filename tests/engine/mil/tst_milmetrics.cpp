// SPDX-License-Identifier: GPL-3.0-or-later
// Classification metrics, checked against values worked out by hand (and sklearn's documented
// example): ROC curve points, AUC with ties, Youden's threshold, F1/accuracy, one-vs-rest AUC.

#include "engine/engineerror.h"
#include "engine/mil/milmetrics.h"

#include "enginecheck.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace icmil::engine;

namespace {

constexpr double kTolerance = 1e-12;

// count x 2 probabilities with p[:, 0] = 1 - p[:, 1].
std::vector<double> binaryProbabilities(const std::vector<double> &positive)
{
    std::vector<double> rows;
    for (const double p : positive) {
        rows.push_back(1.0 - p);
        rows.push_back(p);
    }
    return rows;
}

} // namespace

ENGINE_TEST(rocCurveMatchesSklearnDocExample)
{
    const auto curve = rocCurve({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8});
    const std::vector<double> fpr = {0, 0, 0.5, 0.5, 1};
    const std::vector<double> tpr = {0, 0.5, 0.5, 1, 1};
    const std::vector<double> thresholds = {0.8, 0.4, 0.35, 0.1};
    CHECK_EQ(curve.size(), std::size_t{5});
    CHECK(std::isinf(curve[0].threshold) && curve[0].threshold > 0);
    for (std::size_t i = 0; i < curve.size(); ++i) {
        CHECK_EQ(curve[i].fpr, fpr[i]);
        CHECK_EQ(curve[i].tpr, tpr[i]);
        if (i > 0)
            CHECK_EQ(curve[i].threshold, thresholds[i - 1]);
    }
    CHECK_NEAR(rocAuc({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}), 0.75, kTolerance);
}

ENGINE_TEST(rocCurveGroupsTiedScoresAcrossClasses)
{
    // Descending: 0.9 {1}, 0.5 {0, 1}, 0.2 {0, 1}; P = 3, N = 2.
    const std::vector<int> labels = {0, 1, 1, 0, 1};
    const std::vector<double> scores = {0.5, 0.5, 0.9, 0.2, 0.2};
    const auto curve = rocCurve(labels, scores);
    CHECK_EQ(curve.size(), std::size_t{4});
    CHECK_EQ(curve[1].threshold, 0.9);
    CHECK_EQ(curve[1].fpr, 0.0);
    CHECK_NEAR(curve[1].tpr, 1.0 / 3, kTolerance);
    CHECK_EQ(curve[2].threshold, 0.5);
    CHECK_EQ(curve[2].fpr, 0.5);
    CHECK_NEAR(curve[2].tpr, 2.0 / 3, kTolerance);
    CHECK_EQ(curve[3].threshold, 0.2);
    CHECK_EQ(curve[3].fpr, 1.0);
    CHECK_EQ(curve[3].tpr, 1.0);
    // Pairs (pos, neg): 0.9 beats both (2); 0.5 beats 0.2, ties 0.5 (1.5); 0.2 ties 0.2 (0.5): 4 / 6.
    CHECK_NEAR(rocAuc(labels, scores), 4.0 / 6, kTolerance);
}

ENGINE_TEST(rocAucCountsEveryTieAsHalf)
{
    CHECK_NEAR(rocAuc({0, 1, 0, 1, 1}, {0.3, 0.3, 0.3, 0.3, 0.3}), 0.5, kTolerance);
    const auto curve = rocCurve({0, 1, 0, 1, 1}, {0.3, 0.3, 0.3, 0.3, 0.3});
    CHECK_EQ(curve.size(), std::size_t{2});
    CHECK_EQ(curve[1].fpr, 1.0);
    CHECK_EQ(curve[1].tpr, 1.0);
}

ENGINE_TEST(rocAucPerfectAndInverted)
{
    CHECK_EQ(rocAuc({0, 0, 1, 1, 1}, {0.1, 0.2, 0.7, 0.8, 0.9}), 1.0);
    CHECK_EQ(rocAuc({1, 1, 0, 0, 0}, {0.1, 0.2, 0.7, 0.8, 0.9}), 0.0);
    // Perfect: the curve goes straight up to (0, 1) at the lowest positive score.
    const auto curve = rocCurve({0, 0, 1, 1, 1}, {0.1, 0.2, 0.7, 0.8, 0.9});
    CHECK_EQ(curve[3].threshold, 0.7);
    CHECK_EQ(curve[3].fpr, 0.0);
    CHECK_EQ(curve[3].tpr, 1.0);
}

ENGINE_TEST(rocRejectsBadInputWithExactMessages)
{
    const std::vector<int> allOnes(12, 1);
    const std::vector<double> twelveScores(12, 0.5);
    CHECK_THROWS_MESSAGE(rocCurve(allOnes, twelveScores), "ROC needs both classes: all 12 labels are 1");
    CHECK_THROWS_MESSAGE(rocAuc({0, 0, 0}, {0.1, 0.2, 0.3}), "ROC needs both classes: all 3 labels are 0");
    CHECK_THROWS_MESSAGE(rocAuc({}, {}), "ROC needs both classes: there are no labels");
    CHECK_THROWS_MESSAGE(rocCurve({0, 1, 1}, {0.1, 0.2}), "ROC needs one score per label: got 3 labels and 2 scores");
    CHECK_THROWS_MESSAGE(rocCurve({0, 1, 2}, {0.1, 0.2, 0.3}), "ROC labels must be 0 or 1: sample 2 has label 2");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_MESSAGE(rocAuc({0, 1, 1}, {0.1, nan, 0.3}), "ROC scores must be finite: the score of sample 1 is NaN");
    const double inf = std::numeric_limits<double>::infinity();
    CHECK_THROWS_MESSAGE(rocCurve({0, 1}, {inf, 0.3}), "ROC scores must be finite: the score of sample 0 is infinite");
}

ENGINE_TEST(youdenPicksUniqueMaximum)
{
    // Descending: 0.5 {0} J=-1/3, 0.4 {1} J=1/6, 0.3 {0} J=-1/6, 0.2 {1} J=1/3, 0.1 {0} J=0.
    const auto point = youdenPoint(rocCurve({0, 1, 0, 1, 0}, {0.1, 0.2, 0.3, 0.4, 0.5}));
    CHECK_EQ(point.threshold, 0.2);
    CHECK_NEAR(point.fpr, 2.0 / 3, kTolerance);
    CHECK_EQ(point.tpr, 1.0);
}

ENGINE_TEST(youdenTakesHighestThresholdOnTies)
{
    // sklearn's example: J = 0 (inf), 0.5 (0.8), 0 (0.4), 0.5 (0.35), 0 (0.1): 0.8 comes first.
    CHECK_EQ(youdenPoint(rocCurve({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8})).threshold, 0.8);
    // J = 0.5 at 0.9 (0, 0.5) and at 0.7 (0.5, 1).
    const auto point = youdenPoint(rocCurve({1, 0, 1, 0}, {0.9, 0.8, 0.7, 0.1}));
    CHECK_EQ(point.threshold, 0.9);
    CHECK_EQ(point.fpr, 0.0);
    CHECK_EQ(point.tpr, 0.5);
}

ENGINE_TEST(youdenAvoidsInfinityPoint)
{
    // All scores equal: (0, 0, inf) and (1, 1, 0.5) both have J = 0; the finite one is chosen.
    CHECK_EQ(youdenPoint(rocCurve({0, 1, 0, 1}, {0.5, 0.5, 0.5, 0.5})).threshold, 0.5);
    // Inverted scores: J = 0 (inf), -1 (0.8), 0 (0.2): the first finite maximum, 0.2.
    CHECK_EQ(youdenPoint(rocCurve({1, 0}, {0.2, 0.8})).threshold, 0.2);
    // A curve holding only the infinity point returns it; a finite point that is strictly worse loses.
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(std::isinf(youdenPoint({{0, 0, inf}}).threshold));
    CHECK(std::isinf(youdenPoint({{0, 0.5, inf}, {1, 1, 0.3}}).threshold));
    CHECK_THROWS_MESSAGE(youdenPoint({}), "Youden's point needs a ROC curve with at least one point");
}

ENGINE_TEST(binaryMetricsByHand)
{
    // p1 = 0.3, 0.6, 0.55, 0.9, 0.1, 0.45 for labels 0, 0, 1, 1, 0, 1.
    const std::vector<int> labels = {0, 0, 1, 1, 0, 1};
    const auto probabilities = binaryProbabilities({0.3, 0.6, 0.55, 0.9, 0.1, 0.45});
    const auto m = classificationMetrics(labels, probabilities, 2);
    CHECK_EQ(m.count, 6);
    CHECK_EQ(m.classes, 2);
    // Positives 0.9, 0.55, 0.45 against negatives 0.6, 0.3, 0.1: 3 + 2 + 2 = 7 of 9 pairs.
    CHECK_NEAR(m.auc, 7.0 / 9, kTolerance);
    CHECK_EQ(m.perClassAuc.size(), std::size_t{2});
    CHECK_NEAR(m.perClassAuc[0], 7.0 / 9, kTolerance);
    CHECK_NEAR(m.perClassAuc[1], 7.0 / 9, kTolerance);
    // Argmax predicts 0, 1, 1, 1, 0, 0: TP 2, FP 1, FN 1, TN 2.
    CHECK_NEAR(m.accuracy, 4.0 / 6, kTolerance);
    CHECK_NEAR(m.f1, 4.0 / 6, kTolerance);
    CHECK(m.confusion == (std::vector<std::vector<int>>{{2, 1}, {1, 2}}));
    CHECK_NEAR(m.sensitivity, 2.0 / 3, kTolerance);
    CHECK_NEAR(m.specificity, 2.0 / 3, kTolerance);
    CHECK(!m.hasThreshold);

    // At p1 >= 0.45: predicts 0, 1, 1, 1, 0, 1: TP 3, FP 1, FN 0, TN 2.
    const auto t = classificationMetrics(labels, probabilities, 2, 0.45);
    CHECK(t.hasThreshold);
    CHECK_EQ(t.threshold, 0.45);
    CHECK_NEAR(t.thresholdAccuracy, 5.0 / 6, kTolerance);
    CHECK_NEAR(t.thresholdF1, 6.0 / 7, kTolerance);
    CHECK_EQ(t.sensitivity, 1.0);
    CHECK_NEAR(t.specificity, 2.0 / 3, kTolerance);
    CHECK_NEAR(t.accuracy, 4.0 / 6, kTolerance); // argmax metrics unchanged
    CHECK_NEAR(t.f1, 4.0 / 6, kTolerance);
}

ENGINE_TEST(chooseOperatingThresholdByHand)
{
    // Descending p1: 0.9 {1} J=1/3, 0.6 {0} J=0, 0.55 {1} J=1/3, 0.45 {1} J=2/3, 0.3 {0}, 0.1 {0}.
    const std::vector<int> labels = {0, 0, 1, 1, 0, 1};
    const auto probabilities = binaryProbabilities({0.3, 0.6, 0.55, 0.9, 0.1, 0.45});
    CHECK_EQ(chooseOperatingThreshold(labels, probabilities), 0.45);
    // Tie (J = 0.5 at 0.9 and 0.7): the higher threshold.
    CHECK_EQ(chooseOperatingThreshold({1, 0, 1, 0}, binaryProbabilities({0.9, 0.8, 0.7, 0.1})), 0.9);
    CHECK_THROWS_MESSAGE(chooseOperatingThreshold({0, 1}, {0.5, 0.5, 0.5}),
                         "Choosing a threshold needs 2 probabilities per label: got 3 for 2 labels");
    CHECK_THROWS_MESSAGE(chooseOperatingThreshold({1, 1}, binaryProbabilities({0.2, 0.7})), "ROC needs both classes: all 2 labels are 1");
}

ENGINE_TEST(argmaxTiesGoToLowestClass)
{
    const auto m = classificationMetrics({1, 0}, {0.5, 0.5, 0.7, 0.3}, 2);
    CHECK(m.confusion == (std::vector<std::vector<int>>{{1, 0}, {1, 0}}));
    CHECK_EQ(m.accuracy, 0.5);
    CHECK_EQ(m.f1, 0.0); // no positive predicted, one true: 0 / 1
}

ENGINE_TEST(binaryWithOneClassGivesNaNAucAndZeroF1)
{
    const auto m = classificationMetrics({0, 0, 0}, binaryProbabilities({0.1, 0.2, 0.3}), 2, 0.5);
    CHECK(std::isnan(m.auc));
    CHECK(std::isnan(m.perClassAuc[0]));
    CHECK(std::isnan(m.perClassAuc[1]));
    CHECK_EQ(m.accuracy, 1.0);
    CHECK_EQ(m.f1, 0.0); // 0 / 0 -> 0, as sklearn's zero_division
    CHECK_EQ(m.thresholdF1, 0.0);
    CHECK_EQ(m.thresholdAccuracy, 1.0);
    CHECK(std::isnan(m.sensitivity));
    CHECK_EQ(m.specificity, 1.0);
}

ENGINE_TEST(multiClassByHand)
{
    const std::vector<int> labels = {0, 1, 2, 2, 1, 0};
    const std::vector<double> probabilities = {
        0.7, 0.2, 0.1, // -> 0
        0.2, 0.5, 0.3, // -> 1
        0.1, 0.3, 0.6, // -> 2
        0.3, 0.4, 0.3, // -> 1
        0.4, 0.4, 0.2, // tie -> 0
        0.5, 0.2, 0.3, // -> 0
    };
    const auto m = classificationMetrics(labels, probabilities, 3);
    CHECK_NEAR(m.accuracy, 4.0 / 6, kTolerance);
    CHECK(m.confusion == (std::vector<std::vector<int>>{{2, 0, 0}, {1, 1, 0}, {0, 1, 1}}));
    // F1: class 0 4/5, class 1 2/4, class 2 2/3 -> macro 59/90.
    CHECK_NEAR(m.f1, 59.0 / 90, kTolerance);
    // Class 0: positives 0.7, 0.5 above all negatives -> 1.
    // Class 1: positives 0.5 (4 wins), 0.4 (3 wins, 1 tie) -> 7.5 / 8.
    // Class 2: positives 0.6 (4 wins), 0.3 (2 wins, 2 ties) -> 7 / 8.
    CHECK_EQ(m.perClassAuc.size(), std::size_t{3});
    CHECK_NEAR(m.perClassAuc[0], 1.0, kTolerance);
    CHECK_NEAR(m.perClassAuc[1], 7.5 / 8, kTolerance);
    CHECK_NEAR(m.perClassAuc[2], 7.0 / 8, kTolerance);
    CHECK_NEAR(m.auc, (1.0 + 7.5 / 8 + 7.0 / 8) / 3, kTolerance);
    CHECK(!m.hasThreshold);
    CHECK_EQ(m.sensitivity, 0.0);
}

ENGINE_TEST(multiClassSkipsUndefinedClasses)
{
    // Class 2 is neither a label nor a prediction: no AUC, left out of both macro means.
    const std::vector<int> labels = {0, 1, 0, 1};
    const std::vector<double> probabilities = {0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.3, 0.5, 0.2, 0.5, 0.4, 0.1};
    const auto m = classificationMetrics(labels, probabilities, 3);
    CHECK(std::isnan(m.perClassAuc[2]));
    CHECK_NEAR(m.perClassAuc[0], 0.75, kTolerance);
    CHECK_NEAR(m.perClassAuc[1], 0.75, kTolerance);
    CHECK_NEAR(m.auc, 0.75, kTolerance);
    CHECK_EQ(m.accuracy, 0.5);
    CHECK_NEAR(m.f1, 0.5, kTolerance); // (0.5 + 0.5) / 2, not / 3

    // Every sample in class 0: no class has both positives and negatives.
    const auto single = classificationMetrics({0, 0}, {0.5, 0.3, 0.2, 0.6, 0.3, 0.1}, 3);
    CHECK(std::isnan(single.auc));
    CHECK_EQ(single.f1, 1.0);
}

ENGINE_TEST(classificationMetricsRejectsBadInput)
{
    CHECK_THROWS_MESSAGE(classificationMetrics({0, 1}, {0.5, 0.5, 0.5}, 2),
                         "Classification metrics need 2 probabilities per label: got 3 for 2 labels");
    CHECK_THROWS_MESSAGE(classificationMetrics({0, 3}, {0.2, 0.3, 0.5, 0.2, 0.3, 0.5}, 3), "Sample 1 has label 3, outside classes 0 to 2");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_MESSAGE(classificationMetrics({0, 1}, {0.5, 0.5, nan, 0.5}, 2), "Sample 1 has a non-finite probability for class 0");
    CHECK_THROWS_MESSAGE(classificationMetrics({0, 1, 2}, std::vector<double>(9, 0.3), 3, 0.5),
                         "An operating threshold applies to binary classification only, not to 3 classes");
    CHECK_THROWS_MESSAGE(classificationMetrics({0, 1}, {0.5, 0.5, 0.5, 0.5}, 2, nan), "The operating threshold is NaN");
    CHECK_THROWS_MESSAGE(classificationMetrics({0}, {1.0}, 1), "Classification metrics need at least 2 classes, got 1");
    CHECK_THROWS_MESSAGE(classificationMetrics({}, {}, 2), "Classification metrics need at least one sample");
}
