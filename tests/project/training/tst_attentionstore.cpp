// SPDX-License-Identifier: GPL-3.0-or-later
// Attention files: everything written reads back, the instance view (instance_scores, N x C)
// included; a file written before instance scores (no such dataset) reads with none; sizes that
// disagree give one clear error on writing and on reading.
#include "project/training/attentionstore.h"
#include "project/features/hdf5atomicwrite.h"
#include "project/projecterror.h"

#include "common/slidetestsupport.h"

#include <QtTest>

#include <filesystem>
#include <functional>

using namespace icmil::project;
namespace fs = std::filesystem;

namespace {

SlideAttention threePatches()
{
    SlideAttention slide;
    slide.slideId = "slide-3";
    slide.coords = {{0, 0}, {256, 0}, {0, 256}};
    slide.attention = {0.2f, 0.3f, 0.5f};
    slide.attentionRaw = {-1.0f, 0.0f, 1.5f};
    slide.probabilities = {0.25, 0.75};
    slide.instanceScores = {0.9f, 0.1f, 0.4f, 0.6f, 0.125f, 0.875f};
    slide.classNames = {"normal", "tumor"};
    slide.predicted = 1;
    slide.modelType = "maxpool";
    slide.run = "run1";
    slide.encoder = "tiny-cnn";
    slide.patchSizeLevel0 = 256;
    return slide;
}

// An attention file as ICMIL Studio wrote it before instance scores, plus `instanceShape`
// values of instance_scores when that is not empty.
void writeOldFile(const fs::path &path, const std::vector<std::int64_t> &instanceShape = {})
{
    const SlideAttention slide = threePatches();
    writeHdf5Atomically(path, 4096, [&](Hdf5File &file) {
        const std::vector<std::int64_t> flat = flattenCoords(slide.coords);
        file.writeIntegers("coords", {3, 2}, flat.data());
        file.writeFloats("attention", {3}, slide.attention.data());
        file.writeFloats("attention_raw", {3}, slide.attentionRaw.data());
        const std::vector<float> probabilities{0.25f, 0.75f};
        file.writeFloats("probabilities", {2}, probabilities.data());
        if (!instanceShape.empty()) {
            const std::vector<float> values(static_cast<std::size_t>(instanceShape[0] * instanceShape[1]), 0.5f);
            file.writeFloats("instance_scores", instanceShape, values.data());
        }
        file.setStringAttribute("/", "slide_id", slide.slideId);
        file.setStringAttribute("/", "class_names", "normal;tumor");
        file.setIntegerAttribute("/", "predicted", 1);
    });
}

QString errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const ProjectError &e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("(no error)");
}

} // namespace

class TstAttentionStore : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;

private Q_SLOTS:
    void initTestCase() { m_dir = icmil::test::scratchDir("tst_attentionstore"); }

    void roundTripsWithInstanceScores()
    {
        const fs::path path = m_dir / "slide-3.h5";
        const SlideAttention written = threePatches();
        writeAttentionFile(path, written);
        const SlideAttention read = readAttentionFile(path);
        QCOMPARE(read.slideId, written.slideId);
        QCOMPARE(read.coords, written.coords);
        QCOMPARE(read.attention, written.attention);
        QCOMPARE(read.attentionRaw, written.attentionRaw);
        QCOMPARE(read.probabilities, written.probabilities);
        QCOMPARE(read.instanceScores, written.instanceScores);
        QCOMPARE(read.classNames, written.classNames);
        QCOMPARE(read.predicted, 1);
        QCOMPARE(read.modelType, written.modelType);
        QCOMPARE(read.run, written.run);
        QCOMPARE(read.encoder, written.encoder);
        QCOMPARE(read.patchSizeLevel0.value_or(0), std::int64_t{256});

        // Without instance scores: no dataset, read back empty.
        SlideAttention without = written;
        without.instanceScores.clear();
        writeAttentionFile(path, without);
        QVERIFY(readAttentionFile(path).instanceScores.empty());
    }

    void anOlderFileHasNoInstanceScores()
    {
        const fs::path path = m_dir / "old.h5";
        writeOldFile(path);
        const SlideAttention read = readAttentionFile(path);
        QVERIFY(read.instanceScores.empty());
        QCOMPARE(read.coords.size(), std::size_t{3});
        QCOMPARE(read.probabilities, (std::vector<double>{0.25, 0.75}));
    }

    void sizesThatDisagreeAreRefused()
    {
        const fs::path path = m_dir / "bad.h5";
        fs::remove(path); // an earlier run's
        SlideAttention slide = threePatches();
        slide.instanceScores.pop_back();
        QCOMPARE(errorOf([&] { writeAttentionFile(path, slide); }),
                 QString::fromStdString("Cannot write attention to '" + path.string()
                                        + "': there are 5 instance scores for 3 patches of 2 classes"));
        QVERIFY(!fs::exists(path));

        const std::string readPrefix = "Cannot read attention from '" + path.string() + "': ";
        for (const std::vector<std::int64_t> &shape : {std::vector<std::int64_t>{2, 2}, std::vector<std::int64_t>{3, 3}}) {
            writeOldFile(path, shape);
            QCOMPARE(errorOf([&] { readAttentionFile(path); }),
                     QString::fromStdString(readPrefix + "its instance scores disagree with its coordinates and classes in size"));
        }
    }
};

QTEST_GUILESS_MAIN(TstAttentionStore)
#include "tst_attentionstore.moc"
