// SPDX-License-Identifier: GPL-3.0-or-later
// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) with the project's own
// writers, so every seed is a valid input of today's format: torch.save files (zip; the legacy
// ones, which only Python writes, are copied from tests/fixtures/torchfiles, made by its
// make_fixtures.py), their pickles, stored ZIPs, a model bundle, labels CSVs, GeoJSON and ASAP XML
// annotations, HDF5 feature and patch files, project and loop files, and tiny slides (a synthetic
// Aperio SVS, a generic pyramidal TIFF, a plain TIFF). Deterministic: the same build writes the
// same bytes. Run it through `cmake --build build --target fuzz-corpus`.
//
//   fuzz_make_corpus <corpus folder>

#include "common/annotationsamples.h"
#include "engine/embedders/embedder.h"
#include "engine/embedders/torchscriptsidecar.h"
#include "engine/mil/milcheckpoint.h"
#include "engine/mil/milmodel.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/storedziparchive.h"
#include "engine/torchfile/storedzipwriter.h"
#include "engine/torchfile/torchfilewriter.h"
#include "project/annotations/annotationset.h"
#include "project/dataset/labelstable.h"
#include "project/features/featurestore.h"
#include "project/loop/foldaggregate.h"
#include "project/loop/icmilloopconfig.h"
#include "project/loop/icmilloopstate.h"
#include "project/model/modelbundle.h"
#include "project/projectcatalog.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "slide/synthetic/tiledpyramidwriter.h"

#include <H5Cpp.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace icmil;

namespace {

fs::path g_root;

fs::path folder(const std::string &target)
{
    const fs::path dir = g_root / target;
    fs::create_directories(dir);
    return dir;
}

std::string readAll(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const fs::path &path, const std::string &bytes)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// data.pkl of a zip torch.save file: the unpickler's seeds.
void extractPickle(const fs::path &zip, const fs::path &out)
{
    const engine::RandomAccessFile file(zip);
    const engine::StoredZipArchive archive(file);
    for (const auto &entry : archive.entries())
        if (entry.name.ends_with("/data.pkl") && entry.method == 0) {
            writeBytes(out, archive.readSmall(entry, 1 << 20));
            return;
        }
}

void torchFiles()
{
    const fs::path zip = folder("torchfile_zip");
    const fs::path legacy = folder("torchfile_legacy");
    const fs::path pickles = folder("unpickler");
    const fs::path storedZip = folder("storedzip");

    torch::manual_seed(1);
    engine::StateDict state;
    state.insert("layer.weight", torch::randn({3, 4}));
    state.insert("layer.bias", torch::arange(3, torch::kInt64));
    state.insert("scalar", torch::tensor(2.5, torch::kFloat64));
    state.insert("half", torch::ones({2, 2}, torch::kHalf));
    state.insert("mask", torch::tensor({true, false, true}));
    engine::writeStateDict(zip / "state_dict.pt", state);

    c10::impl::GenericDict nested(c10::StringType::get(), c10::AnyType::get());
    c10::impl::GenericDict inner(c10::StringType::get(), c10::AnyType::get());
    inner.insert("weight", torch::randn({2, 3}).t()); // a non-contiguous view
    nested.insert("model", inner);
    nested.insert("epoch", 3);
    nested.insert("name", std::string("abmil"));
    nested.insert("lr", 1e-4);
    nested.insert("flags", c10::List<bool>({true, false}));
    engine::writeTorchFile(zip / "nested.pt", nested);

    // The fixtures Python wrote (tests/fixtures/torchfiles/make_fixtures.py): zip ones to the zip
    // target, legacy ones (first byte 0x80) to the legacy target.
    for (const auto &entry : fs::directory_iterator(ICMIL_TORCHFILE_FIXTURES)) {
        const std::string bytes = readAll(entry.path());
        if (bytes.starts_with("PK"))
            writeBytes(zip / entry.path().filename(), bytes);
        else if (!bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x80)
            writeBytes(legacy / entry.path().filename(), bytes);
    }
    for (const auto &entry : fs::directory_iterator(zip)) {
        extractPickle(entry.path(), pickles / (entry.path().stem().string() + ".pkl"));
        writeBytes(storedZip / entry.path().filename(), readAll(entry.path()));
    }
    writeBytes(storedZip / "members.zip",
               engine::makeStoredZip({{"a.txt", "hello"}, {"dir/b.bin", std::string(40, '\x01')}, {"empty", ""}}));

    engine::TorchScriptSidecar sidecar;
    sidecar.name = "uni";
    sidecar.inputSize = 224;
    sidecar.featureDim = 1024;
    sidecar.normalisation = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    const fs::path sidecars = folder("torchscript_sidecar");
    writeBytes(sidecars / "sidecar.json", sidecar.toJson());
    writeBytes(sidecars / "extra.json",
               "{\"name\": \"x\\u00e9\\n\", \"input_size\": 1e2, \"feature_dim\": 8, \"mean\": [0, -0.5, 1E-3],\n"
               " \"std\": [1, 1, 1], \"extra\": {\"a\": [null, true, false, \"\\ud83d\\ude00\"]}}\n");
}

void modelBundle()
{
    engine::EmbedderConfig embedderConfig;
    embedderConfig.name = engine::kTinyCnnName;
    embedderConfig.seed = 1;
    const auto embedder = engine::makeEmbedder(embedderConfig);
    engine::MilModelConfig model;
    model.inputDim = embedder->featureDim();
    model.embedDim = 8;
    model.attentionDim = 4;
    engine::MilCheckpoint classifier = engine::makeMilCheckpoint(*engine::makeMilModel(model));
    classifier.classNames = {"normal", "tumor"};
    classifier.threshold = 0.5;
    project::ModelBundleInfo info;
    info.name = "fuzz seed";
    info.encoder = "tiny-cnn";
    info.embedderName = engine::kTinyCnnName;
    info.featureDim = embedder->featureDim();
    info.inputSize = embedder->inputSize();
    info.classNames = classifier.classNames;
    info.threshold = 0.5;
    const fs::path scratch = g_root / ".scratch";
    fs::create_directories(scratch);
    project::writeModelBundle(scratch / "model.icmil", *embedder, classifier, info);

    // The tiny-cnn's weights make a bundle of 400 KB, too large to commit and mostly floats a
    // mutation only damages: the seeds keep model.json and the classifier, with a small state
    // dict as embedder.pth (the embedder's load refuses it; the members before it all read).
    engine::StateDict small;
    small.insert("conv.weight", torch::ones({2, 3, 1, 1}));
    engine::writeStateDict(scratch / "small.pth", small);
    std::vector<engine::StoredZipMember> members;
    {
        const engine::RandomAccessFile file(scratch / "model.icmil");
        const engine::StoredZipArchive archive(file);
        for (const auto &entry : archive.entries())
            members.push_back(
                {entry.name, entry.name == "embedder.pth" ? readAll(scratch / "small.pth") : archive.readSmall(entry, 1 << 20)});
    }
    const fs::path bundles = folder("model_bundle");
    writeBytes(bundles / "small-embedder.icmil", engine::makeStoredZip(members));
    writeBytes(folder("storedzip") / "model.icmil", engine::makeStoredZip(members));
    members.erase(members.begin() + 1, members.end());
    writeBytes(bundles / "model-json-only.icmil", engine::makeStoredZip(members));
    fs::remove_all(scratch);
}

void labels()
{
    const fs::path dir = folder("labels_csv");
    project::LabelsTable table;
    table.add({"case_0", "slide_000", "normal", "train", 0});
    table.add({"case_0", "slide_001", "normal", "val", 0});
    table.add({"case_1", "slide_002", "tumor", "test", 0});
    table.add({"", "slide_003", "Tumour", "train", 0});
    table.write(dir / "labels_split.csv");
    project::LabelsTable plain;
    plain.add({"c1", "s1", "tumor", "", 0});
    plain.add({"c2", "s2", "normal", "", 0});
    plain.write(dir / "labels.csv");
    writeBytes(dir / "quoted.csv",
               "\xef\xbb\xbf\"case_id\",slide_id,label,split\r\n\"a,b\",\"s \"\"1\"\"\",tumor,train\r\nx,s2,,val\r\n,,\r\n"
               "x,s2,normal,test,extra\n");
}

void annotations()
{
    const fs::path geojson = folder("annotations_geojson");
    writeBytes(geojson / "qupath.geojson", test::kQuPathGeoJson);
    writeBytes(geojson / "feature.geojson",
               R"({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[5, 5], [60, 5], [60, 60], [5, 5]]]},
 "properties": {"classification": {"name": "Necrosis"}}})");
    writeBytes(
        geojson / "array.json",
        R"([{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 1]]]}, "properties": {}}])");

    project::AnnotationSet set;
    set.source = "asap-xml";
    project::Annotation tumour;
    tumour.className = "Tumor";
    tumour.name = "Annotation 0";
    tumour.colour = std::array<int, 3>{244, 250, 88};
    tumour.polygons = {{{{10.0, 10.0}, {400.0, 12.5}, {380.0, 300.0}, {15.0, 290.0}}}};
    project::Annotation exclusion = tumour;
    exclusion.className = "Exclusion";
    exclusion.kind = project::Annotation::Kind::Exclusion;
    exclusion.polygons = {{{{50.0, 50.0}, {60.0, 50.0}, {55.0, 60.0}}}};
    set.annotations = {tumour, exclusion};
    project::writeProjectAnnotations(geojson / "project.geojson", set);

    const fs::path xml = folder("annotations_xml");
    writeBytes(xml / "camelyon.xml", test::kAsapXml);
    // A Spline of a named group, its points out of order.
    writeBytes(xml / "spline.xml",
               R"(<ASAP_Annotations><Annotations><Annotation Name="s" Type="Spline" PartOfGroup="Stroma">)"
               R"(<Coordinates><Coordinate Order="2" X="10" Y="10"/><Coordinate Order="0" X="50" Y="10"/>)"
               R"(<Coordinate Order="1" X="30" Y="40"/></Coordinates></Annotation></Annotations>)"
               R"(<AnnotationGroups><Group Name="Stroma" Color="#00ff00"/></AnnotationGroups></ASAP_Annotations>)");

    const fs::path polygons = folder("geojson_polygons");
    writeBytes(polygons / "qupath.geojson", test::kQuPathGeoJson);
    writeBytes(polygons / "geometry.geojson",
               R"({"type": "MultiPolygon", "coordinates": [[[[0, 0], [4, 0], [4, 4], [0, 0]]], [[[5, 5], [9, 5], [9, 9], [5, 5]]]]})");
    writeBytes(polygons / "tissue.geojson", readAll(geojson / "project.geojson"));
}

void featureFiles()
{
    const fs::path dir = folder("hdf5_features");
    project::SlideFeatures slide;
    slide.slideId = "slide_001";
    slide.count = 3;
    slide.dim = 4;
    for (int i = 0; i < 12; ++i)
        slide.features.push_back(static_cast<float>(i) * 0.5f);
    slide.coords = {{0, 0}, {256, 0}, {0, 256}};
    project::writeFeatureFile(dir / "ours.h5", slide);
    project::PatchCoordinates patches;
    patches.slideId = "slide_001";
    patches.coords = slide.coords;
    project::writePatchFile(dir / "patches.h5", patches);

    // CLAM's layout: features float32 N x D, coords int32 N x 2, no attributes.
    H5::H5File clam((dir / "clam.h5").string(), H5F_ACC_TRUNC);
    const hsize_t featureShape[2] = {2, 3};
    const float features[6] = {1, 2, 3, 4, 5, 6};
    clam.createDataSet("features", H5::PredType::NATIVE_FLOAT, H5::DataSpace(2, featureShape)).write(features, H5::PredType::NATIVE_FLOAT);
    const hsize_t coordShape[2] = {2, 2};
    const std::int32_t coords[4] = {0, 0, 512, 512};
    clam.createDataSet("coords", H5::PredType::NATIVE_INT32, H5::DataSpace(2, coordShape)).write(coords, H5::PredType::NATIVE_INT32);
    clam.close();

    // TRIDENT's: 1 x N x D features, int64 coords with patching attributes.
    H5::H5File trident((dir / "trident.h5").string(), H5F_ACC_TRUNC);
    const hsize_t tridentShape[3] = {1, 2, 3};
    trident.createDataSet("features", H5::PredType::NATIVE_FLOAT, H5::DataSpace(3, tridentShape))
        .write(features, H5::PredType::NATIVE_FLOAT);
    const std::int64_t coords64[4] = {0, 0, 512, 512};
    H5::DataSet tridentCoords = trident.createDataSet("coords", H5::PredType::NATIVE_INT64, H5::DataSpace(2, coordShape));
    tridentCoords.write(coords64, H5::PredType::NATIVE_INT64);
    const std::int64_t patchSize = 256;
    tridentCoords.createAttribute("patch_size", H5::PredType::NATIVE_INT64, H5::DataSpace()).write(H5::PredType::NATIVE_INT64, &patchSize);
    trident.close();
}

void projectFiles()
{
    const fs::path scratch = g_root / ".scratch";
    fs::create_directories(scratch);
    project::ProjectSettings settings;
    settings.slides = scratch / "slides";
    settings.labelsCsv = "/data/labels.csv";
    settings.classNames = {"normal", "tumor"};
    project::writeProjectSettings(scratch, settings);
    writeBytes(folder("project_settings") / "icmil-project.json", readAll(project::projectSettingsFile(scratch)));

    const fs::path loop = folder("loop_state");
    project::LoopState state;
    state.name = "loop";
    state.settings = project::loopSettingsJson(project::IcmilLoopConfig{});
    project::IterationSummary first;
    first.iteration = 0;
    first.encoder = "tiny-cnn";
    first.embedderName = "tiny-cnn";
    first.completedPhases = {"calibrate", "extract", "train"};
    first.extractSeconds = 1.5;
    first.extractedPatches = 120;
    first.runDir = "runs/loop-it0";
    first.threshold = 0.4;
    project::IterationSummary second = first;
    second.iteration = 1;
    second.encoder = "loop-it1";
    second.embedderWeights = "embedder-it1.pth";
    second.completedPhases = {"finetune", "extract"};
    second.leftOut = {{"slide_003", "it cannot be read"}};
    state.iterations = {first, second};
    project::writeLoopState(loop / "state.json", state);

    project::FoldsAggregate folds;
    folds.name = "cv";
    folds.folds = 2;
    folds.loops = {"cv-fold0", "cv-fold1"};
    folds.iterations = project::aggregateFolds({{first, second}, {first}});
    project::writeFoldsAggregateJson(loop / "folds.json", folds);
    fs::remove_all(scratch);
}

void slides()
{
    const fs::path dir = folder("slide_open");
    const fs::path scratch = g_root / ".scratch";
    fs::create_directories(scratch);
    slide::SyntheticSlideConfig config;
    config.width = 512;
    config.height = 384;
    config.tileSize = 128;
    config.levelFactor = 4;
    config.jpegQuality = 20;
    config.positive = true;
    config.threads = 1;
    config.slideId = "fuzz";
    slide::SyntheticSlideWriter(config).write(dir / "aperio.svs", scratch / "mask.png", scratch / "tumour.geojson");
    writeBytes(folder("geojson_polygons") / "tumour.geojson", readAll(scratch / "tumour.geojson"));

    slide::TiledPyramidConfig pyramid;
    pyramid.width = 600;
    pyramid.height = 300;
    pyramid.tileSize = 128;
    pyramid.levelFactor = 2;
    pyramid.jpegQuality = 30;
    pyramid.workers = 1;
    pyramid.mpp = 0.25;
    pyramid.description = "fuzz seed";
    slide::TiledPyramidWriter(pyramid).write(dir / "pyramid.tif",
                                             [](std::int64_t firstRow, int rows, std::uint8_t *band, std::size_t stride) {
                                                 for (int r = 0; r < rows; ++r)
                                                     for (std::size_t x = 0; x < 600 * 3; ++x)
                                                         band[static_cast<std::size_t>(r) * stride + x]
                                                             = static_cast<std::uint8_t>((firstRow + r) ^ static_cast<std::int64_t>(x));
                                             });

    cv::Mat image(24, 32, CV_8UC3, cv::Scalar(200, 120, 230));
    cv::imwrite((dir / "plain.tif").string(), image);
    cv::imwrite((dir / "plain.png").string(), image);
    fs::remove_all(scratch);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus folder>\n", argv[0]);
        return 2;
    }
    g_root = argv[1];
    try {
        for (const char *target : {"torchfile_zip", "torchfile_legacy", "unpickler", "storedzip", "torchscript_sidecar", "model_bundle",
                                   "labels_csv", "annotations_geojson", "annotations_xml", "geojson_polygons", "hdf5_features",
                                   "project_settings", "loop_state", "slide_open"})
            fs::remove_all(g_root / target);
        torchFiles();
        modelBundle();
        labels();
        annotations();
        featureFiles();
        projectFiles();
        slides();
    } catch (const std::exception &error) {
        std::fprintf(stderr, "fuzz_make_corpus: %s\n", error.what());
        return 1;
    }
    std::uintmax_t total = 0;
    std::size_t files = 0;
    for (const auto &entry : fs::recursive_directory_iterator(g_root))
        if (entry.is_regular_file()) {
            total += entry.file_size();
            ++files;
        }
    std::printf("fuzz_make_corpus: %zu files, %ju bytes in %s\n", files, total, g_root.string().c_str());
    return 0;
}
