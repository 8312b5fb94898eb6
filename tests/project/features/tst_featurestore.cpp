// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/featurestore.h"
#include "project/projecterror.h"

#include "common/slidetestsupport.h"
#include "project/featuretestsupport.h"
#include "project/hdf5fixtures.h"

#include <QtTest>

#include <csignal>
#include <fstream>
#include <thread>

#include <sys/resource.h>

using namespace icmil::project;
using namespace icmil::test;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string &name)
{
    return scratchDir("tst_featurestore") / name;
}

template <typename Call> QString errorOf(Call &&call)
{
    return icmil::test::projectErrorOf(std::forward<Call>(call));
}

using icmil::test::q;

SlideFeatures sampleSlide(std::int64_t count, std::int64_t dim)
{
    SlideFeatures slide;
    slide.slideId = "TCGA-A1-0001";
    slide.count = count;
    slide.dim = dim;
    slide.features = fixtureFeatures(count, dim);
    slide.features[1] = -1.0e-7f; // not a round number
    for (std::int64_t i = 0; i < count; ++i)
        slide.coords.push_back(fixtureCoord(i));
    PatchAttributes &a = slide.attributes;
    a.patchSize = 256;
    a.patchLevel = 1;
    a.patchSizeLevel0 = 1024;
    a.targetMagnification = 10.0;
    a.level0Magnification = 40.0;
    a.overlap = 16;
    a.levelDownsample = std::array<double, 2>{4.000244, 4.0};
    a.levelDimensions = std::array<std::int64_t, 2>{11500, 8228};
    a.level0Dimensions = std::array<std::int64_t, 2>{46000, 32914};
    a.encoder = "resnet50_trunc";
    return slide;
}

// Raw attribute checks, through the C API, independent of our reader.
bool hasAttribute(hid_t file, const char *object, const char *name)
{
    const hid_t target = H5Oopen(file, object, H5P_DEFAULT);
    const bool exists = target >= 0 && H5Aexists(target, name) > 0;
    H5Oclose(target);
    return exists;
}

double numberAttribute(hid_t file, const char *object, const char *name, int index = 0)
{
    const hid_t target = H5Oopen(file, object, H5P_DEFAULT);
    const hid_t attr = H5Aopen(target, name, H5P_DEFAULT);
    double values[4] = {};
    H5Aread(attr, H5T_NATIVE_DOUBLE, values);
    H5Aclose(attr);
    H5Oclose(target);
    return values[index];
}

} // namespace

class TstFeatureStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTripKeepsValuesCoordsAndAttributes()
    {
        const fs::path path = scratch("roundtrip.h5");
        const SlideFeatures written = sampleSlide(70, 1024);
        writeFeatureFile(path, written);
        QVERIFY(fs::exists(path));
        QVERIFY(!fs::exists(path.string() + ".partial"));

        const SlideFeatures read = readFeatureFile(path);
        QCOMPARE(read.slideId, written.slideId);
        QCOMPARE(read.count, std::int64_t{70});
        QCOMPARE(read.dim, std::int64_t{1024});
        QVERIFY(read.features == written.features);
        QVERIFY(read.coords == written.coords);
        PatchAttributes expected = written.attributes;
        expected.sourceFormat = "icmil";
        QVERIFY(read.attributes == expected);
        QCOMPARE(read.attributes.level0PatchSize(), std::optional<std::int64_t>(1024));

        const FeatureFileSummary summary = describeFeatureFile(path);
        QCOMPARE(summary.count, std::int64_t{70});
        QCOMPARE(summary.dim, std::int64_t{1024});
        QVERIFY(summary.attributes == expected);
    }

    void unknownAttributesStayUnknown()
    {
        const fs::path path = scratch("bare.h5");
        SlideFeatures slide;
        slide.count = 3;
        slide.dim = 2;
        slide.features = {1, 2, 3, 4, 5, 6};
        slide.coords = {{0, 0}, {1, 1}, {2, 2}};
        writeFeatureFile(path, slide);
        const SlideFeatures read = readFeatureFile(path);
        QCOMPARE(read.slideId, std::string("bare")); // no id given: the file name
        PatchAttributes expected;
        expected.sourceFormat = "icmil";
        QVERIFY(read.attributes == expected);
        QVERIFY(!read.attributes.level0PatchSize());
    }

    void writesClamAndTridentAttributeSets()
    {
        const fs::path path = scratch("both.h5");
        writeFeatureFile(path, sampleSlide(5, 8));
        const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        QVERIFY(file >= 0);
        for (const char *name :
             {"patch_size", "patch_level", "downsample", "downsampled_level_dim", "level_dim", "name", "save_path", "custom_downsample",
              "patch_size_level0", "level0_magnification", "target_magnification", "overlap", "savetodir", "level0_width", "level0_height"})
            QVERIFY2(hasAttribute(file, "coords", name), name);
        for (const char *name : {"name", "savetodir", "encoder"})
            QVERIFY2(hasAttribute(file, "features", name), name);
        QCOMPARE(numberAttribute(file, "coords", "patch_size"), 256.0);
        QCOMPARE(numberAttribute(file, "coords", "target_magnification"), 10.0);
        QCOMPARE(numberAttribute(file, "coords", "downsample", 1), 4.0);
        // TRIDENT's CLAM fallback: level_downsamples[patch_level] * custom_downsample = footprint / patch_size.
        QVERIFY(std::abs(numberAttribute(file, "coords", "custom_downsample") * 4.000244 - 4.0) < 1e-9);

        // dtypes and layout: float32 N x D, int64 N x 2, rows appendable (CLAM's save_hdf5 mode='a').
        const hid_t features = H5Dopen2(file, "features", H5P_DEFAULT);
        const hid_t coords = H5Dopen2(file, "coords", H5P_DEFAULT);
        const hid_t featureType = H5Dget_type(features);
        const hid_t coordType = H5Dget_type(coords);
        QVERIFY(H5Tequal(featureType, H5T_IEEE_F32LE) > 0);
        QVERIFY(H5Tequal(coordType, H5T_STD_I64LE) > 0);
        const hid_t space = H5Dget_space(features);
        hsize_t dims[2] = {}, maxDims[2] = {};
        QCOMPARE(H5Sget_simple_extent_dims(space, dims, maxDims), 2);
        QCOMPARE(dims[0], hsize_t{5});
        QCOMPARE(dims[1], hsize_t{8});
        QCOMPARE(maxDims[0], H5S_UNLIMITED);
        H5Sclose(space);
        H5Tclose(featureType);
        H5Tclose(coordType);
        H5Dclose(features);
        H5Dclose(coords);
        H5Fclose(file);
    }

    void readsClamFeatureFile()
    {
        const fs::path path = scratch("clam-slide.h5");
        QVERIFY(writeClamFeatureFile(path, 40, 1024));
        const SlideFeatures slide = readFeatureFile(path);
        QCOMPARE(slide.slideId, std::string("clam-slide"));
        QCOMPARE(slide.count, std::int64_t{40});
        QCOMPARE(slide.dim, std::int64_t{1024});
        QVERIFY(slide.features == fixtureFeatures(40, 1024));
        QCOMPARE(slide.coords[39], fixtureCoord(39));
        PatchAttributes expected;
        expected.sourceFormat = "clam";
        QVERIFY(slide.attributes == expected);
    }

    void readsClamLayoutWithCoordsAttributes()
    {
        const fs::path path = scratch("clam-attrs.h5");
        {
            RawH5File file(path);
            const auto features = fixtureFeatures(12, 1024);
            const auto coords = fixtureCoords<std::int64_t>(12);
            file.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {12, 1024}, features.data(), 32);
            file.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {12, 2}, coords.data(), 32);
            addClamCoordsAttributes(file, "TCGA-CLAM");
        }
        const SlideFeatures slide = readFeatureFile(path);
        QCOMPARE(slide.slideId, std::string("TCGA-CLAM"));
        QCOMPARE(slide.count, std::int64_t{12});
        QVERIFY(slide.features == fixtureFeatures(12, 1024));
        QCOMPARE(slide.coords[11], fixtureCoord(11));
        const PatchAttributes &a = slide.attributes;
        QCOMPARE(a.sourceFormat, std::string("clam"));
        QCOMPARE(a.patchSize, std::optional<std::int64_t>(256));
        QCOMPARE(a.patchLevel, std::optional<std::int64_t>(0));
        QVERIFY((a.levelDownsample == std::array<double, 2>{1.0, 1.0}));
        QVERIFY((a.levelDimensions == std::array<std::int64_t, 2>{46000, 32914}));
        QVERIFY(!a.patchSizeLevel0 && !a.targetMagnification && !a.level0Magnification && !a.overlap);
        QCOMPARE(a.level0PatchSize(), std::optional<std::int64_t>(256));
    }

    void readsClamPatchFile()
    {
        const fs::path path = scratch("clam-patches.h5");
        {
            RawH5File file(path);
            const auto coords = fixtureCoords<std::int64_t>(9);
            file.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {9, 2}, coords.data(), 32);
            addClamCoordsAttributes(file, "slide-7");
        }
        const PatchCoordinates patches = readPatchFile(path);
        QCOMPARE(patches.slideId, std::string("slide-7"));
        QCOMPARE(patches.coords.size(), std::size_t{9});
        QCOMPARE(patches.coords[8], fixtureCoord(8));
        QCOMPARE(patches.attributes.patchSize, std::optional<std::int64_t>(256));
        QCOMPARE(patches.attributes.sourceFormat, std::string("clam"));
    }

    void readsTridentFeatureFile()
    {
        const fs::path path = scratch("trident-slide.h5");
        QVERIFY(writeTridentFeatureFile(path, "TCGA-TRIDENT", 25, 1536, "uni_v2"));
        const SlideFeatures slide = readFeatureFile(path);
        QCOMPARE(slide.slideId, std::string("TCGA-TRIDENT"));
        QCOMPARE(slide.count, std::int64_t{25});
        QCOMPARE(slide.dim, std::int64_t{1536});
        QVERIFY(slide.features == fixtureFeatures(25, 1536));
        QCOMPARE(slide.coords[24], fixtureCoord(24));
        const PatchAttributes &a = slide.attributes;
        QCOMPARE(a.sourceFormat, std::string("trident"));
        QCOMPARE(a.encoder, std::string("uni_v2"));
        QCOMPARE(a.patchSize, std::optional<std::int64_t>(256));
        QCOMPARE(a.patchSizeLevel0, std::optional<std::int64_t>(512));
        QCOMPARE(a.level0Magnification, std::optional<double>(40.0));
        QCOMPARE(a.targetMagnification, std::optional<double>(20.0));
        QCOMPARE(a.overlap, std::optional<std::int64_t>(0));
        QVERIFY((a.level0Dimensions == std::array<std::int64_t, 2>{46000, 32914}));
        QVERIFY(!a.patchLevel && !a.levelDownsample);
    }

    void readsTridentFloat16BatchOfOneInt32()
    {
        const fs::path path = scratch("trident-batch.h5");
        QVERIFY(writeTridentFeatureFile(path, "s-b", 6, 768, "None", /*float16=*/true, /*batchOfOne=*/true));
        const SlideFeatures slide = readFeatureFile(path);
        QCOMPARE(slide.count, std::int64_t{6});
        QCOMPARE(slide.dim, std::int64_t{768});
        QVERIFY(slide.features == fixtureFeatures(6, 768));
        QCOMPARE(slide.coords[5], fixtureCoord(5));
        QCOMPARE(slide.attributes.encoder, std::string()); // TRIDENT writes None as 'None'
    }

    void readsTridentPatchFileAndEmptySlides()
    {
        const fs::path path = scratch("slide-9_patches.h5");
        {
            RawH5File file(path);
            const auto coords = fixtureCoords<std::int64_t>(4);
            file.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {4, 2}, coords.data(), 1);
            file.integer("coords", "patch_size", 256);
            file.integer("coords", "target_magnification", 20);
        }
        const PatchCoordinates patches = readPatchFile(path);
        QCOMPARE(patches.slideId, std::string("slide-9")); // no name attribute: the file name less _patches
        QCOMPARE(patches.coords.size(), std::size_t{4});
        QCOMPARE(patches.attributes.sourceFormat, std::string("trident"));

        // TRIDENT saves a slide without tissue as features (0,) and coords (0, 2).
        const fs::path empty = scratch("empty-trident.h5");
        {
            RawH5File file(empty);
            file.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {0}, nullptr, 1);
            file.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {0, 2}, nullptr, 1);
        }
        const SlideFeatures none = readFeatureFile(empty);
        QCOMPARE(none.count, std::int64_t{0});
        QVERIFY(none.features.empty() && none.coords.empty());
    }

    void patchFileRoundTrip()
    {
        const fs::path path = scratch("tiles.h5");
        PatchCoordinates patches;
        patches.slideId = "slide-1";
        patches.coords = {{0, 0}, {512, 0}, {0, 512}};
        patches.attributes.patchSize = 512;
        patches.attributes.patchLevel = 0;
        patches.attributes.patchSizeLevel0 = 512;
        patches.attributes.levelDownsample = std::array<double, 2>{1.0, 1.0};
        writePatchFile(path, patches);
        const PatchCoordinates read = readPatchFile(path);
        QCOMPARE(read.slideId, patches.slideId);
        QVERIFY(read.coords == patches.coords);
        PatchAttributes expected = patches.attributes;
        expected.sourceFormat = "icmil";
        QVERIFY(read.attributes == expected);
        QCOMPARE(errorOf([&] { readFeatureFile(path); }),
                 QStringLiteral("Cannot read features from '%1': no dataset 'features'").arg(q(path)));
    }

    void emptySlideRoundTrip()
    {
        const fs::path path = scratch("no-tissue.h5");
        SlideFeatures slide;
        slide.slideId = "no-tissue";
        slide.dim = 384;
        writeFeatureFile(path, slide);
        const SlideFeatures read = readFeatureFile(path);
        QCOMPARE(read.count, std::int64_t{0});
        QCOMPARE(read.dim, std::int64_t{384});
    }

    void malformedFilesGiveExactMessages()
    {
        const auto message = [](const fs::path &path, const char *cause) {
            return QStringLiteral("Cannot read features from '%1': %2").arg(q(path), QString::fromUtf8(cause));
        };

        const fs::path rows = scratch("rows.h5");
        {
            RawH5File file(rows);
            const auto features = fixtureFeatures(1000, 4);
            const auto coords = fixtureCoords<std::int64_t>(999);
            file.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1000, 4}, features.data(), 32);
            file.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {999, 2}, coords.data(), 32);
        }
        QCOMPARE(errorOf([&] { readFeatureFile(rows); }), message(rows, "'features' has 1000 rows but 'coords' has 999"));
        QCOMPARE(errorOf([&] { describeFeatureFile(rows); }), message(rows, "'features' has 1000 rows but 'coords' has 999"));

        const fs::path noFeatures = scratch("nofeatures.h5");
        const fs::path noCoords = scratch("nocoords.h5");
        const fs::path slideLevel = scratch("slide-embedding.h5");
        const fs::path threeCols = scratch("threecols.h5");
        const fs::path nan = scratch("nan.h5");
        {
            const auto features = fixtureFeatures(3, 4);
            const auto coords = fixtureCoords<std::int64_t>(3);
            RawH5File a(noFeatures);
            a.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {3, 2}, coords.data(), 1);
            RawH5File b(noCoords);
            b.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {3, 4}, features.data(), 1);
            RawH5File c(slideLevel); // TRIDENT's slide_features_<encoder>/: one vector per slide
            c.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {12}, features.data(), 12);
            c.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {3, 2}, coords.data(), 1);
            RawH5File d(threeCols);
            d.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {2, 4}, features.data(), 1);
            d.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {2, 3}, coords.data(), 1);
            std::vector<float> bad = features;
            bad[9] = std::numeric_limits<float>::quiet_NaN();
            RawH5File e(nan);
            e.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {3, 4}, bad.data(), 1);
            e.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {3, 2}, coords.data(), 1);
        }
        QCOMPARE(errorOf([&] { readFeatureFile(noFeatures); }), message(noFeatures, "no dataset 'features'"));
        QCOMPARE(errorOf([&] { readFeatureFile(noCoords); }), message(noCoords, "no dataset 'coords'"));
        QCOMPARE(errorOf([&] { readFeatureFile(slideLevel); }),
                 message(slideLevel, "'features' is a single vector of 12 values (a slide embedding?), not one row per patch"));
        QCOMPARE(errorOf([&] { readFeatureFile(threeCols); }), message(threeCols, "'coords' has shape 2x3; expected N x 2"));
        QCOMPARE(errorOf([&] { readFeatureFile(nan); }), message(nan, "'features' row 2 holds a value that is not a finite number"));

        const fs::path text = scratch("labels.h5");
        std::ofstream(text) << "slide_id,label\nTCGA-1,tumor\n";
        QCOMPARE(errorOf([&] { readFeatureFile(text); }), message(text, "not an HDF5 file"));
        const fs::path empty = scratch("zero.h5");
        std::ofstream{empty};
        QCOMPARE(errorOf([&] { readFeatureFile(empty); }), message(empty, "not an HDF5 file"));
        const fs::path missing = scratch("missing.h5");
        QCOMPARE(errorOf([&] { readFeatureFile(missing); }), message(missing, "no such file"));
        QCOMPARE(errorOf([&] { readPatchFile(missing); }),
                 QStringLiteral("Cannot read patch coordinates from '%1': no such file").arg(q(missing)));

        // An interrupted copy: the first half of a good file.
        const fs::path truncated = scratch("truncated.h5");
        writeFeatureFile(truncated, sampleSlide(200, 64));
        fs::resize_file(truncated, fs::file_size(truncated) / 2);
        QCOMPARE(errorOf([&] { readFeatureFile(truncated); }), message(truncated, "the file is truncated"));

        const fs::path newer = scratch("newer.h5");
        writeFeatureFile(newer, sampleSlide(2, 2));
        {
            const hid_t file = H5Fopen(newer.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
            const hid_t attr = H5Aopen(file, "icmil_format_version", H5P_DEFAULT);
            const std::int64_t two = 2;
            H5Awrite(attr, H5T_NATIVE_INT64, &two);
            H5Aclose(attr);
            H5Fclose(file);
        }
        QCOMPARE(errorOf([&] { readFeatureFile(newer); }),
                 message(newer, "it was written by a newer ICMIL Studio (file format 2; this one reads up to 1)"));
    }

    void badInputIsRefusedBeforeWriting()
    {
        const fs::path path = scratch("refused.h5");
        SlideFeatures slide = sampleSlide(10, 4);
        slide.features.pop_back();
        QCOMPARE(errorOf([&] { writeFeatureFile(path, slide); }),
                 QStringLiteral("Cannot write features to '%1': there are 39 feature values for 10 patches of 4 features "
                                "(expected 40)")
                     .arg(q(path)));
        slide = sampleSlide(10, 4);
        slide.coords.pop_back();
        QCOMPARE(errorOf([&] { writeFeatureFile(path, slide); }),
                 QStringLiteral("Cannot write features to '%1': there are 9 coordinates for 10 patches").arg(q(path)));
        slide = sampleSlide(10, 4);
        slide.attributes.patchSizeLevel0 = 512;
        QCOMPARE(errorOf([&] { writeFeatureFile(path, slide); }),
                 QStringLiteral("Cannot write features to '%1': the level-0 patch size is 512 px, but 256 px at 10x on a "
                                "40x slide covers 1024 px")
                     .arg(q(path)));
        QVERIFY(!fs::exists(path) && !fs::exists(path.string() + ".partial"));

        const fs::path nowhere = scratch("no-such-folder") / "x.h5";
        QCOMPARE(errorOf([&] { writeFeatureFile(nowhere, sampleSlide(2, 2)); }),
                 QStringLiteral("Cannot write features to '%1': No such file or directory").arg(q(nowhere)));
        QVERIFY(!fs::exists(nowhere.parent_path()));
    }

    void failedWriteLeavesNoFileAndKeepsTheOldOne()
    {
        const fs::path path = scratch("diskfull.h5");
        writeFeatureFile(path, sampleSlide(3, 4)); // the old file that must survive
        const auto oldSize = fs::file_size(path);

        // A full disk, simulated: no file may grow past 64 KiB (writes fail with EFBIG).
        rlimit previous{};
        QVERIFY(::getrlimit(RLIMIT_FSIZE, &previous) == 0);
        const auto previousHandler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit limited = previous;
        limited.rlim_cur = 64 * 1024;
        QVERIFY(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
        const QString error = errorOf([&] { writeFeatureFile(path, sampleSlide(400, 1024)); });
        ::setrlimit(RLIMIT_FSIZE, &previous);
        std::signal(SIGXFSZ, previousHandler);

        QCOMPARE(error, QStringLiteral("Cannot write features to '%1': File too large").arg(q(path)));
        QVERIFY(!fs::exists(path.string() + ".partial"));
        QCOMPARE(fs::file_size(path), oldSize);
        QCOMPARE(readFeatureFile(path).count, std::int64_t{3});

        const fs::path fresh = scratch("diskfull-new.h5");
        QVERIFY(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
        std::signal(SIGXFSZ, SIG_IGN);
        const QString freshError = errorOf([&] { writeFeatureFile(fresh, sampleSlide(400, 1024)); });
        ::setrlimit(RLIMIT_FSIZE, &previous);
        std::signal(SIGXFSZ, previousHandler);
        QVERIFY(!freshError.isEmpty());
        QVERIFY(!fs::exists(fresh) && !fs::exists(fresh.string() + ".partial"));
    }

    void concurrentReadsAndWrites()
    {
        std::vector<std::thread> threads;
        std::atomic_int failures{0};
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([t, &failures] {
                try {
                    for (int round = 0; round < 5; ++round) {
                        const fs::path path = scratch("thread-" + std::to_string(t) + ".h5");
                        const SlideFeatures slide = sampleSlide(50 + t, 128);
                        writeFeatureFile(path, slide);
                        if (readFeatureFile(path).features != slide.features)
                            ++failures;
                        try {
                            readFeatureFile(scratch("thread-missing.h5"));
                            ++failures;
                        } catch (const ProjectError &) { }
                    }
                } catch (...) {
                    ++failures;
                }
            });
        }
        for (std::thread &thread : threads)
            thread.join();
        QCOMPARE(failures.load(), 0);
    }
};

QTEST_GUILESS_MAIN(TstFeatureStore)
#include "tst_featurestore.moc"
