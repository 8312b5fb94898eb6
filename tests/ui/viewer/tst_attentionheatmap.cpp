// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/colormap.h"

#include <QtTest>

#include <cmath>
#include <stdexcept>

using icmil::ui::AttentionHeatmap;
using icmil::ui::Colormap;
using icmil::ui::HeatmapNormalisation;
using icmil::ui::HeatmapSettings;

namespace {

HeatmapSettings settingsWith(HeatmapNormalisation normalisation, std::optional<double> threshold = std::nullopt)
{
    HeatmapSettings settings;
    settings.normalisation = normalisation;
    settings.threshold = threshold;
    return settings;
}

// A 3 x 2 grid of 10-pixel patches starting at (100, 50), the middle of the bottom row missing:
//   (100,50) (110,50) (120,50)
//   (100,60)    -     (120,60)
AttentionHeatmap gridHeatmap(HeatmapSettings settings)
{
    return AttentionHeatmap({{120, 60}, {100, 50}, {110, 50}, {120, 50}, {100, 60}}, 10, {4.0f, 0.0f, 1.0f, 2.0f, 3.0f},
                            std::move(settings));
}

QString errorOf(const std::function<void()> &make)
{
    try {
        make();
    } catch (const std::invalid_argument &e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("(no error)");
}

// CIE L* of an sRGB colour: the lightness a viewer sees.
double lightness(QRgb rgb)
{
    const auto linear = [](int c) {
        const double v = c / 255.0;
        return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
    };
    const double y = 0.2126 * linear(qRed(rgb)) + 0.7152 * linear(qGreen(rgb)) + 0.0722 * linear(qBlue(rgb));
    return y > 216.0 / 24389.0 ? 116.0 * std::cbrt(y) - 16.0 : y * 24389.0 / 27.0;
}

} // namespace

class TstAttentionHeatmap : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void minMaxByHand()
    {
        const AttentionHeatmap map({{0, 0}, {256, 0}, {512, 0}, {768, 0}}, 256, {2.0f, 4.0f, 6.0f, 10.0f},
                                   settingsWith(HeatmapNormalisation::MinMax));
        QCOMPARE(map.scores(), (std::vector<double>{0.0, 0.25, 0.5, 1.0}));
        QCOMPARE(map.rawMin(), 2.0f);
        QCOMPARE(map.rawMax(), 10.0f);
        // All equal: no spread to normalise, every patch in the middle.
        const AttentionHeatmap flat({{0, 0}, {256, 0}}, 256, {3.0f, 3.0f}, settingsWith(HeatmapNormalisation::MinMax));
        QCOMPARE(flat.scores(), (std::vector<double>{0.5, 0.5}));
    }

    void probabilitiesAreShownAsTheyAre()
    {
        // The instance view's probabilities: unchanged (clamped to [0, 1]), named for the legend.
        const AttentionHeatmap map({{0, 0}, {256, 0}, {512, 0}, {768, 0}}, 256, {0.25f, 0.75f, 1.5f, -0.5f},
                                   settingsWith(HeatmapNormalisation::Probability, 0.5), QStringLiteral("Instance score (tumor)"));
        QCOMPARE(map.scores(), (std::vector<double>{0.25, 0.75, 1.0, 0.0}));
        QCOMPARE(map.scoreName(), QStringLiteral("Instance score (tumor)"));
        QCOMPARE(map.withSettings(settingsWith(HeatmapNormalisation::MinMax))->scoreName(), QStringLiteral("Instance score (tumor)"));
        QCOMPARE(normalisationName(HeatmapNormalisation::Probability), QStringLiteral("probability"));
        QVERIFY(!map.hitAt(QPointF(10, 10))->shown); // 0.25 is under the threshold 0.5
        QVERIFY(map.hitAt(QPointF(300, 10))->shown);
        QCOMPARE(AttentionHeatmap({{0, 0}}, 1, {1.0f}).scoreName(), QStringLiteral("Attention"));
    }

    void percentileRankSharesTiedRanks()
    {
        // Sorted: 1 (rank 0), 3 (rank 1), 5 5 5 (ranks 2 3 4, each gets 3); divided by n - 1 = 4.
        const AttentionHeatmap map({{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}}, 1, {5.0f, 1.0f, 5.0f, 3.0f, 5.0f},
                                   settingsWith(HeatmapNormalisation::PercentileRank));
        QCOMPARE(map.scores(), (std::vector<double>{0.75, 0.0, 0.75, 0.25, 0.75}));
        const AttentionHeatmap distinct({{0, 0}, {1, 0}, {2, 0}}, 1, {-1.0f, 7.0f, 0.5f});
        QCOMPARE(distinct.scores(), (std::vector<double>{0.0, 1.0, 0.5}));
        const AttentionHeatmap single({{0, 0}}, 1, {42.0f});
        QCOMPARE(single.scores(), std::vector<double>{0.5});
    }

    void cellImageHasOnePixelPerPatchInTheLutColour()
    {
        for (const QString &name : Colormap::names()) {
            HeatmapSettings settings = settingsWith(HeatmapNormalisation::MinMax);
            settings.colormap = Colormap::fromName(name);
            const AttentionHeatmap map = gridHeatmap(settings);
            const QImage &image = map.cellImage();
            QCOMPARE(image.format(), QImage::Format_ARGB32_Premultiplied);
            QCOMPARE(image.size(), QSize(3, 2));
            QCOMPARE(map.cellRect(), QRectF(100, 50, 30, 20));
            const Colormap colormap = settings.colormap;
            QCOMPARE(image.pixel(0, 0), colormap.at(0.0));  // patch 1, raw 0
            QCOMPARE(image.pixel(1, 0), colormap.at(0.25)); // patch 2, raw 1
            QCOMPARE(image.pixel(2, 0), colormap.at(0.5));
            QCOMPARE(image.pixel(0, 1), colormap.at(0.75));
            QCOMPARE(image.pixel(2, 1), colormap.at(1.0)); // patch 0, raw 4
            QCOMPARE(image.pixel(1, 1), QRgb(0));          // no patch: fully transparent
            QCOMPARE(qAlpha(image.pixel(2, 1)), 255);
        }
    }

    void thresholdHidesLowCells()
    {
        const AttentionHeatmap map = gridHeatmap(settingsWith(HeatmapNormalisation::MinMax, 0.5));
        const QImage &image = map.cellImage();
        QCOMPARE(image.pixel(0, 0), QRgb(0));            // 0.0
        QCOMPARE(image.pixel(1, 0), QRgb(0));            // 0.25
        QCOMPARE(image.pixel(2, 0), Colormap().at(0.5)); // at the threshold: drawn
        QCOMPARE(image.pixel(2, 1), Colormap().at(1.0));
        const auto hidden = map.hitAt(QPointF(105, 55));
        QVERIFY(hidden && !hidden->shown);
        QVERIFY(map.hitAt(QPointF(125, 55))->shown);
        QCOMPARE(errorOf([&] { map.withSettings(settingsWith(HeatmapNormalisation::MinMax, 1.5)); }),
                 QStringLiteral("Cannot draw the attention heatmap: the threshold 1.500000 is not in [0, 1]"));
    }

    void withSettingsRecolours()
    {
        const AttentionHeatmap map = gridHeatmap(settingsWith(HeatmapNormalisation::MinMax));
        HeatmapSettings turbo = settingsWith(HeatmapNormalisation::PercentileRank);
        turbo.colormap = Colormap::fromName(QStringLiteral("turbo"));
        const auto other = map.withSettings(turbo);
        QCOMPARE(&other->coords(), &map.coords()); // the patch data is shared, not copied
        QCOMPARE(other->scores(), (std::vector<double>{1.0, 0.0, 0.25, 0.5, 0.75}));
        QCOMPARE(other->cellImage().pixel(2, 1), turbo.colormap.at(1.0));
        QCOMPARE(map.cellImage().pixel(2, 1), Colormap().at(1.0)); // the original is unchanged
    }

    void hitAtFindsThePatchUnderAPoint()
    {
        const AttentionHeatmap map = gridHeatmap(settingsWith(HeatmapNormalisation::MinMax));
        const auto inside = map.hitAt(QPointF(125.5, 64.0));
        QVERIFY(inside);
        QCOMPARE(inside->index, std::size_t{0});
        QCOMPARE(inside->score, 1.0);
        QCOMPARE(inside->raw, 4.0f);
        QCOMPARE(inside->rect, QRectF(120, 60, 10, 10));
        QVERIFY(inside->shown);
        // Top-left edges belong to the patch, the bottom-right edges to the next cell.
        QCOMPARE(map.hitAt(QPointF(110.0, 50.0))->index, std::size_t{2});
        QCOMPARE(map.hitAt(QPointF(109.999, 59.999))->index, std::size_t{1});
        QCOMPARE(map.hitAt(QPointF(120.0, 60.0))->index, std::size_t{0});
        QVERIFY(!map.hitAt(QPointF(130.0, 55.0)));  // right edge of the grid
        QVERIFY(!map.hitAt(QPointF(105.0, 70.0)));  // bottom edge
        QVERIFY(!map.hitAt(QPointF(99.99, 55.0)));  // left of it
        QVERIFY(!map.hitAt(QPointF(105.0, 49.99))); // above it
        QVERIFY(!map.hitAt(QPointF(115.0, 65.0)));  // the missing patch
        QVERIFY(!map.hitAt(QPointF(std::nan(""), 55.0)));
    }

    void topKOrdersByScore()
    {
        const AttentionHeatmap map({{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}}, 1, {0.2f, 0.9f, 0.5f, 0.9f, -1.0f});
        QCOMPARE(map.topK(3), (std::vector<std::size_t>{1, 3, 2})); // ties: the lower index first
        QCOMPARE(map.topK(10), (std::vector<std::size_t>{1, 3, 2, 0, 4}));
        QVERIFY(map.topK(0).empty());
    }

    void badInputIsRefusedClearly()
    {
        QCOMPARE(errorOf([] {
                     AttentionHeatmap({{0, 0}, {10, 0}}, 10, {1.0f});
                 }),
                 QStringLiteral("Cannot draw the attention heatmap: there are 1 scores for 2 patches"));
        QCOMPARE(errorOf([] { AttentionHeatmap({}, 10, {}); }), QStringLiteral("Cannot draw the attention heatmap: there are no patches"));
        QCOMPARE(errorOf([] {
                     AttentionHeatmap({{0, 0}}, 0, {1.0f});
                 }),
                 QStringLiteral("Cannot draw the attention heatmap: the patch size is 0 level-0 pixels"));
        QCOMPARE(errorOf([] {
                     AttentionHeatmap({{0, 0}, {15, 0}}, 10, {1.0f, 2.0f});
                 }),
                 QStringLiteral("Cannot draw the attention heatmap: patch 1 at (15, 0) is not on the 10-pixel grid of patch 0 at (0, 0)"));
        QCOMPARE(errorOf([] {
                     AttentionHeatmap({{0, 0}, {10, 0}, {0, 0}}, 10, {1.0f, 2.0f, 3.0f});
                 }),
                 QStringLiteral("Cannot draw the attention heatmap: patches 0 and 2 are both at (0, 0)"));
        QCOMPARE(errorOf([] {
                     AttentionHeatmap({{0, 0}}, 10, {std::nanf("")});
                 }),
                 QStringLiteral("Cannot draw the attention heatmap: the score of patch 0 is not a number"));
        QCOMPARE(errorOf([] {
                     AttentionHeatmap({{0, 0}, {1000000, 1000000}}, 10, {1.0f, 2.0f});
                 }),
                 QStringLiteral("Cannot draw the attention heatmap: the patches span 100001 x 100001 cells"));
    }

    void colormapsByName()
    {
        QCOMPARE(Colormap::names(),
                 (QStringList{QStringLiteral("viridis"), QStringLiteral("turbo"), QStringLiteral("jet"), QStringLiteral("coolwarm")}));
        QCOMPARE(Colormap().name(), QStringLiteral("viridis"));
        QCOMPARE(Colormap::byName(QStringLiteral("Turbo"))->name(), QStringLiteral("turbo"));
        QVERIFY(!Colormap::byName(QStringLiteral("magma")));
        QVERIFY(!Colormap::byName(QString()));
        QCOMPARE(errorOf([] { Colormap::fromName(QStringLiteral("magma")); }),
                 QStringLiteral("Unknown colormap 'magma' (known: viridis, turbo, jet, coolwarm)"));
    }

    void colormapEndpointsAndClamping()
    {
        const Colormap viridis;
        QCOMPARE(viridis.at(0.0), qRgb(68, 1, 84));
        QCOMPARE(viridis.at(1.0), qRgb(253, 231, 37));
        QCOMPARE(viridis.at(-3.0), viridis.at(0.0));
        QCOMPARE(viridis.at(7.0), viridis.at(1.0));
        QCOMPARE(viridis.at(std::nan("")), viridis.at(0.0));
        QCOMPARE(viridis.at(0.5), viridis.table()[128]);
        const Colormap jet = Colormap::fromName(QStringLiteral("jet"));
        QCOMPARE(jet.at(0.0), qRgb(0, 0, 128));
        QCOMPARE(jet.at(1.0), qRgb(128, 0, 0));
        const Colormap coolwarm = Colormap::fromName(QStringLiteral("coolwarm"));
        QCOMPARE(coolwarm.at(0.0), qRgb(59, 76, 192));
        QCOMPARE(coolwarm.at(1.0), qRgb(180, 4, 38));
        const QRgb middle = coolwarm.at(0.5); // entry 128 of 0..255, just past the grey centre
        QVERIFY(std::abs(qRed(middle) - 221) <= 2 && std::abs(qGreen(middle) - 221) <= 2 && std::abs(qBlue(middle) - 221) <= 2);
        // Turbo: dark blue-violet, then the bright green-yellow middle, then dark red.
        const Colormap turbo = Colormap::fromName(QStringLiteral("turbo"));
        const QRgb low = turbo.at(0.1);
        const QRgb mid = turbo.at(0.5);
        const QRgb high = turbo.at(0.9);
        QVERIFY2(qBlue(low) > qRed(low) && qBlue(low) > qGreen(low), qPrintable(QColor(low).name()));
        QVERIFY2(qGreen(mid) > 230 && qBlue(mid) < 90, qPrintable(QColor(mid).name())); // published turbo(0.5) = #a4fc3c
        QVERIFY2(qRed(high) > qGreen(high) && qRed(high) > qBlue(high), qPrintable(QColor(high).name()));
    }

    void viridisLightnessRises()
    {
        // Perceptually uniform: L* rises across the whole map, by a similar amount per step.
        const Colormap viridis;
        double previous = lightness(viridis.table()[0]);
        for (std::size_t i = 1; i < viridis.table().size(); ++i) {
            const double current = lightness(viridis.table()[i]);
            QVERIFY2(current > previous - 0.3, qPrintable(QStringLiteral("entry %1: L* %2 after %3").arg(i).arg(current).arg(previous)));
            previous = current;
        }
        QVERIFY(lightness(viridis.at(1.0)) - lightness(viridis.at(0.0)) > 60.0);
        for (int step = 0; step < 8; ++step) // every eighth of the map is lighter than the one before
            QVERIFY(lightness(viridis.at((step + 1) / 8.0)) > lightness(viridis.at(step / 8.0)) + 5.0);
        // Jet is the counter-example the test must be able to catch: its lightness falls in places.
        const Colormap jet = Colormap::fromName(QStringLiteral("jet"));
        QVERIFY(lightness(jet.at(0.9)) < lightness(jet.at(0.6)));
    }
};

QTEST_GUILESS_MAIN(TstAttentionHeatmap)
#include "tst_attentionheatmap.moc"
