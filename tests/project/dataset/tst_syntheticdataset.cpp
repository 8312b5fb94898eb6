// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/datasetsummary.h"
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"
#include "project/dataset/syntheticdataset.h"

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace icmil::project;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const char *name)
{
    const QByteArray env = qgetenv("ICMIL_TEST_SCRATCH");
    fs::path dir = (env.isEmpty() ? fs::temp_directory_path() / "icmil-tst_syntheticdataset" : fs::path(env.toStdString())) / name;
    fs::remove_all(dir);
    return dir;
}

SyntheticDatasetConfig smallConfig(const fs::path &dir)
{
    SyntheticDatasetConfig c;
    c.outputDir = dir;
    c.slides = 4;
    c.seed = 3;
    c.width = 2048;
    c.height = 1536;
    c.positiveFraction = 0.5;
    return c;
}

} // namespace

class TstSyntheticDataset : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void writesClamLayoutAndSummaryReadsItBack()
    {
        const fs::path dir = scratch("a");
        int lastSlide = -1;
        SyntheticDataset dataset(smallConfig(dir));
        const SyntheticDatasetResult result = dataset.generate([&](int i, int n, double) {
            QCOMPARE(n, 4);
            lastSlide = i;
        });
        QCOMPARE(lastSlide, 3);
        QCOMPARE(result.slides.size(), std::size_t{4});
        int positives = 0;
        for (const SyntheticSlideRecord &s : result.slides) {
            QVERIFY(fs::exists(s.slidePath));
            QVERIFY(fs::exists(s.maskPath));
            QVERIFY(fs::exists(s.annotationPath));
            if (s.label == "tumor") {
                ++positives;
                QVERIFY(s.tumourRegions > 0);
            } else {
                QCOMPARE(QString::fromStdString(s.label), QStringLiteral("normal"));
                QCOMPARE(s.tumourRegions, 0);
            }
        }
        QCOMPARE(positives, 2);

        const LabelsTable labels = LabelsTable::read(dir / "labels.csv");
        QVERIFY(labels.issues().empty());
        QCOMPARE(labels.rows().size(), std::size_t{4});
        QCOMPARE(QString::fromStdString(labels.rows()[0].slideId), QStringLiteral("slide_000"));
        QCOMPARE(QString::fromStdString(labels.rows()[0].caseId), QStringLiteral("case_000"));
        QVERIFY(fs::exists(dir / "dataset.json"));

        const DatasetSummary summary = DatasetSummary::inspect(dir);
        QCOMPARE(summary.openable, 4);
        QCOMPARE(summary.slidesPerLabel.at("tumor"), 2);
        QCOMPARE(summary.slides[1].width, std::int64_t{2048});
        QCOMPARE(*summary.slides[1].mpp, 0.5);
        const QString text = QString::fromStdString(summary.format());
        QVERIFY2(text.contains(QStringLiteral("4 slides (2 normal, 2 tumor), 4 open")), qPrintable(text));
    }

    void sameSeedSameLabelsAndReuse()
    {
        const fs::path a = scratch("b1");
        const fs::path b = scratch("b2");
        SyntheticDataset(smallConfig(a)).generate();
        SyntheticDataset(smallConfig(b)).generate();
        auto bytes = [](const fs::path &p) {
            std::ifstream in(p, std::ios::binary);
            return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        };
        QCOMPARE(bytes(a / "labels.csv"), bytes(b / "labels.csv"));
        QVERIFY(bytes(a / "slides/slide_002.svs") == bytes(b / "slides/slide_002.svs"));

        // A second run with the same settings reuses the slides it finds (0 s each).
        const SyntheticDatasetResult again = SyntheticDataset(smallConfig(a)).generate();
        for (const SyntheticSlideRecord &s : again.slides)
            QCOMPARE(s.seconds, 0.0);
        QCOMPARE(bytes(a / "labels.csv"), bytes(b / "labels.csv"));
    }

    void missingSlideIsReportedNotFatal()
    {
        const fs::path dir = scratch("c");
        SyntheticDataset(smallConfig(dir)).generate();
        fs::remove(dir / "slides/slide_001.svs");
        const DatasetSummary summary = DatasetSummary::inspect(dir);
        QCOMPARE(summary.openable, 3);
        QCOMPARE(QString::fromStdString(summary.slides[1].error),
                 QStringLiteral("no file named 'slide_001.*' in '%1'").arg(QString::fromStdString((dir / "slides").string())));
    }

    void badConfigAndCancel()
    {
        SyntheticDatasetConfig c = smallConfig(scratch("d"));
        c.slides = 0;
        try {
            SyntheticDataset(c).generate();
            QFAIL("no error");
        } catch (const ProjectError &e) {
            QCOMPARE(QString::fromStdString(e.what()),
                     QStringLiteral("Cannot generate a synthetic dataset: the number of slides must be between 1 and 10000"));
        }
        c.slides = 2;
        SyntheticDataset cancelled(c);
        cancelled.cancel();
        try {
            cancelled.generate();
            QFAIL("no error");
        } catch (const ProjectError &e) {
            QCOMPARE(QString::fromStdString(e.what()), QStringLiteral("Synthetic dataset generation was cancelled"));
        }
        QVERIFY(!fs::exists(c.outputDir / "labels.csv"));
    }
};

QTEST_GUILESS_MAIN(TstSyntheticDataset)
#include "tst_syntheticdataset.moc"
