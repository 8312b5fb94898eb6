// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/featureimport.h"
#include "project/features/featurestore.h"
#include "project/projecterror.h"

#include "common/slidetestsupport.h"
#include "project/featuretestsupport.h"
#include "project/hdf5fixtures.h"

#include <QtTest>

#include <fstream>

using namespace icmil::project;
using namespace icmil::test;
namespace fs = std::filesystem;

namespace {

// A fresh folder for one test case.
fs::path freshDir(const std::string &name)
{
    const fs::path dir = scratchDir("tst_featureimport") / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

template <typename Call> QString errorOf(Call &&call)
{
    return icmil::test::projectErrorOf(std::forward<Call>(call));
}

using icmil::test::q;

// "slide: imported" or "slide: <reason>" per entry, for one readable comparison.
QStringList outcomes(const FeatureImportReport &report)
{
    QStringList lines;
    for (const FeatureImportEntry &entry : report.entries)
        lines << QString::fromStdString(entry.slideId) + QStringLiteral(": ")
                + (entry.imported ? QStringLiteral("imported") : QString::fromStdString(entry.reason));
    return lines;
}

} // namespace

class TstFeatureImport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void importsAMixedClamFolder()
    {
        const fs::path root = freshDir("mixed");
        const fs::path h5 = root / "clam_features" / "h5_files";
        fs::create_directories(h5);
        QVERIFY(writeClamFeatureFile(h5 / "a-clam.h5", 30, 1024));
        QVERIFY(writeTridentFeatureFile(h5 / "b-trident.h5", "b-trident", 12, 1024, "resnet50_trunc"));
        std::ofstream(h5 / "c-bad.h5") << "not hdf5";
        QVERIFY(writeClamFeatureFile(h5 / "d-narrow.h5", 8, 768));
        QVERIFY(writeTridentFeatureFile(h5 / "e-empty.h5", "e-empty", 0, 1024, "resnet50_trunc"));
        std::ofstream(h5 / "notes.txt") << "ignored";
        const fs::path destination = root / "project" / "features";

        std::vector<std::size_t> progress;
        FeatureImportOptions options;
        options.progress = [&](std::size_t done, std::size_t total) {
            progress.push_back(done);
            QCOMPARE(total, std::size_t{5});
        };
        const FeatureImportReport report = importFeatureDirectory(root / "clam_features", destination, options);

        QCOMPARE(report.scannedDirectory, h5);
        QCOMPARE(report.dim, std::int64_t{1024});
        QVERIFY(!report.cancelled);
        QCOMPARE(outcomes(report),
                 (QStringList{
                     QStringLiteral("a-clam: imported"),
                     QStringLiteral("b-trident: imported"),
                     QStringLiteral("c-bad: Cannot read features from '%1': not an HDF5 file").arg(q(h5 / "c-bad.h5")),
                     QStringLiteral("d-narrow: '%1' has 768 features per patch; the others have 1024").arg(q(h5 / "d-narrow.h5")),
                     QStringLiteral("e-empty: '%1' has no patches").arg(q(h5 / "e-empty.h5")),
                 }));
        QCOMPARE(report.importedCount(), std::size_t{2});
        QCOMPARE(report.skippedCount(), std::size_t{3});
        QCOMPARE(progress, (std::vector<std::size_t>{1, 2, 3, 4, 5}));
        QCOMPARE(report.entries[0].sourceFormat, std::string("clam"));
        QCOMPARE(report.entries[1].sourceFormat, std::string("trident"));
        QCOMPARE(report.entries[0].destination, destination / "a-clam.h5");
        QVERIFY(report.entries[2].destination.empty());

        const SlideFeatures clam = readFeatureFile(destination / "a-clam.h5");
        QCOMPARE(clam.slideId, std::string("a-clam"));
        QCOMPARE(clam.attributes.sourceFormat, std::string("icmil"));
        QVERIFY(clam.features == fixtureFeatures(30, 1024));
        QCOMPARE(clam.coords[29], fixtureCoord(29));
        const SlideFeatures trident = readFeatureFile(destination / "b-trident.h5");
        QCOMPARE(trident.attributes.encoder, std::string("resnet50_trunc"));
        QCOMPARE(trident.attributes.patchSizeLevel0, std::optional<std::int64_t>(512));
        QVERIFY(!fs::exists(destination / "c-bad.h5") && !fs::exists(destination / "d-narrow.h5"));

        // Again: what is there is kept, unless asked to overwrite.
        const FeatureImportReport again = importFeatureDirectory(h5, destination);
        QCOMPARE(again.entries[0].reason, "'" + (destination / "a-clam.h5").string() + "' already exists");
        options.overwrite = true;
        options.progress = nullptr;
        QCOMPARE(importFeatureDirectory(h5, destination, options).importedCount(), std::size_t{2});

        // The project decides the width: now only the 768-wide file fits.
        FeatureImportOptions narrow;
        narrow.expectedDim = 768;
        const FeatureImportReport narrowReport = importFeatureDirectory(h5, root / "narrow", narrow);
        QCOMPARE(narrowReport.importedCount(), std::size_t{1});
        QCOMPARE(QString::fromStdString(narrowReport.entries[0].reason),
                 QStringLiteral("'%1' has 1024 features per patch; the project expects 768").arg(q(h5 / "a-clam.h5")));
    }

    void importsATridentJobFolder()
    {
        const fs::path root = freshDir("trident");
        const fs::path patching = root / "job" / "20x_256px_0px_overlap";
        const fs::path features = patching / "features_conch_v15";
        fs::create_directories(features);
        fs::create_directories(patching / "patches");
        QVERIFY(writeTridentFeatureFile(features / "s1.h5", "s1", 5, 768, "None"));
        QVERIFY(writeTridentFeatureFile(features / "s2.h5", "s2", 7, 768, "conch_v15", /*float16=*/true));
        const FeatureImportReport report = importFeatureDirectory(patching, root / "out");
        QCOMPARE(report.scannedDirectory, features);
        QCOMPARE(outcomes(report), (QStringList{QStringLiteral("s1: imported"), QStringLiteral("s2: imported")}));
        // The file did not name its encoder: the folder did.
        QCOMPARE(readFeatureFile(root / "out" / "s1.h5").attributes.encoder, std::string("conch_v15"));
        QVERIFY(readFeatureFile(root / "out" / "s2.h5").features == fixtureFeatures(7, 768));

        fs::create_directories(patching / "features_uni_v1");
        QVERIFY(writeTridentFeatureFile(patching / "features_uni_v1" / "s1.h5", "s1", 5, 1024, "uni_v1"));
        QCOMPARE(errorOf([&] { importFeatureDirectory(patching, root / "out2"); }),
                 QStringLiteral("Cannot import features from '%1': it holds several feature folders "
                                "(features_conch_v15, features_uni_v1); choose one")
                     .arg(q(patching)));
    }

    void unusableFoldersThrow()
    {
        const fs::path root = freshDir("unusable");
        QCOMPARE(errorOf([&] { importFeatureDirectory(root / "nope", root / "out"); }),
                 QStringLiteral("Cannot import features from '%1': no such folder").arg(q(root / "nope")));
        fs::create_directories(root / "empty");
        QCOMPARE(errorOf([&] { importFeatureDirectory(root / "empty", root / "out"); }),
                 QStringLiteral("Cannot import features from '%1': it holds no .h5 files, nor an h5_files/ or "
                                "features_<encoder>/ folder with some")
                     .arg(q(root / "empty")));
        fs::create_directories(root / "same");
        QVERIFY(writeClamFeatureFile(root / "same" / "x.h5", 2, 4));
        QCOMPARE(errorOf([&] { importFeatureDirectory(root / "same", root / "same"); }),
                 QStringLiteral("Cannot import features from '%1': it is the destination folder itself").arg(q(root / "same")));
    }

    void cancelStopsBetweenFiles()
    {
        const fs::path root = freshDir("cancel");
        fs::create_directories(root / "in");
        for (const char *name : {"a.h5", "b.h5", "c.h5"})
            QVERIFY(writeClamFeatureFile(root / "in" / name, 3, 4));
        std::atomic_bool cancel{false};
        FeatureImportOptions options;
        options.cancel = &cancel;
        options.progress = [&](std::size_t done, std::size_t) {
            if (done == 1)
                cancel = true;
        };
        const FeatureImportReport report = importFeatureDirectory(root / "in", root / "out", options);
        QVERIFY(report.cancelled);
        QCOMPARE(report.entries.size(), std::size_t{1});
        QVERIFY(fs::exists(root / "out" / "a.h5") && !fs::exists(root / "out" / "b.h5"));
    }
};

QTEST_GUILESS_MAIN(TstFeatureImport)
#include "tst_featureimport.moc"
