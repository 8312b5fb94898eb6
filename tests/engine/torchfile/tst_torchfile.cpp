// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for engine/torchfile/torchfile.h: files written by Python's torch.save (fixtures made by
// tests/fixtures/torchfiles/make_fixtures.py) and by LibTorch's torch::pickle_save, and the plain
// errors (missing, empty, truncated, compressed, TorchScript). Hostile and damaged files are
// tst_torchfilehostile.cpp.

#include "enginecheck.h"
#include "torchfilecrafting.h"
#include "torchfilefixtures.h"

#include "engine/engineerror.h"
#include "engine/torchfile/torchfile.h"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <string_view>

namespace fs = std::filesystem;
using icmil::engine::EngineError;
using icmil::engine::PickleValue;
using icmil::engine::readStateDict;
using icmil::engine::readTorchFile;
using icmil::engine::StateDict;
using namespace torchfilecrafting;
using namespace torchfilefixtures;

namespace {

const std::vector<Expected> kSmallNet{
    {"conv.weight", {3, 2, 3, 3}},
    {"conv.bias", {3}},
    {"bn.weight", {3}},
    {"bn.bias", {3}},
    {"bn.running_mean", {3}},
    {"bn.running_var", {3}},
    {"bn.num_batches_tracked", {}, torch::kLong},
    {"fc.weight", {2, 4}},
    {"fc.bias", {2}},
};

const std::vector<c10::ScalarType> kDtypes{torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kChar,
                                           torch::kShort, torch::kInt,    torch::kLong, torch::kByte,     torch::kBool};
const std::vector<std::string> kDtypeNames{"float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool"};

} // namespace

// ---- files torch.save wrote ---------------------------------------------------------------------

ENGINE_TEST(stateDictZip)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("state_dict_zip.pt")), kSmallNet), "");
}
ENGINE_TEST(stateDictLegacy)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("state_dict_legacy.pt")), kSmallNet), "");
}
ENGINE_TEST(stateDictProtocol4Zip)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("state_dict_protocol4_zip.pt")), kSmallNet), "");
}
ENGINE_TEST(stateDictProtocol4Legacy)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("state_dict_protocol4_legacy.pt")), kSmallNet), "");
}
ENGINE_TEST(stateDictZip64)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("state_dict_zip64.pt")), kSmallNet), "");
}
ENGINE_TEST(cudaStoragesZip)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("cuda_zip.pt")), kSmallNet), "");
}
ENGINE_TEST(cudaStoragesLegacy)
{
    CHECK_EQ(stateDictDifference(readStateDict(fixture("cuda_legacy.pt")), kSmallNet), "");
}

ENGINE_TEST(orderedDictKeepsOrderAndDropsMetadata)
{
    const PickleValue root = readTorchFile(fixture("state_dict_zip.pt"));
    CHECK(root.isOrderedDict());
    CHECK_EQ(root.entries().size(), kSmallNet.size());
    CHECK(root.find("_metadata") == nullptr);
    CHECK_EQ(root.entries().front().first.toStringRef(), "conv.weight");
    CHECK(root.find("fc.bias") != nullptr && root.find("fc.bias")->isTensor());
}

ENGINE_TEST(everyDtype)
{
    for (const char *name : {"dtypes_zip.pt", "dtypes_legacy.pt"}) {
        const StateDict dict = readStateDict(fixture(name));
        std::vector<Expected> expected;
        for (std::size_t i = 0; i < kDtypes.size(); ++i)
            expected.push_back({kDtypeNames[i], {2, 3}, kDtypes[i]});
        CHECK_EQ(std::string(name) + " " + stateDictDifference(dict, expected), std::string(name) + " ");
    }
}

ENGINE_TEST(viewsKeepStridesOffsetsAndSharedStorage)
{
    for (const char *name : {"views_zip.pt", "views_legacy.pt"}) {
        const StateDict dict = readStateDict(fixture(name));
        CHECK_EQ(dict.keys(), (std::vector<std::string>{"base", "transposed", "sliced", "strided", "expanded"}));
        torch::Tensor base = *dict.find("base");
        const torch::Tensor expectedBase = pattern({4, 6}, torch::kFloat, 0);
        CHECK_EQ(difference(base, expectedBase), "");
        const torch::Tensor transposed = *dict.find("transposed");
        CHECK_EQ(difference(transposed, expectedBase.t()), "");
        CHECK_EQ(transposed.strides().vec(), (std::vector<std::int64_t>{1, 6}));
        const torch::Tensor sliced = *dict.find("sliced");
        CHECK_EQ(difference(sliced, expectedBase.slice(0, 1, 3).slice(1, 2, 5)), "");
        CHECK_EQ(sliced.storage_offset(), 8);
        CHECK_EQ(sliced.strides().vec(), (std::vector<std::int64_t>{6, 1}));
        const torch::Tensor strided = *dict.find("strided");
        CHECK_EQ(difference(strided, expectedBase.view({24}).slice(0, 5, 17, 2)), "");
        CHECK_EQ(strided.storage_offset(), 5);
        CHECK_EQ(strided.strides().vec(), (std::vector<std::int64_t>{2}));
        const torch::Tensor expanded = *dict.find("expanded");
        CHECK_EQ(difference(expanded, pattern({3}, torch::kFloat, 1).expand({4, 3})), "");
        CHECK_EQ(expanded.strides().vec(), (std::vector<std::int64_t>{0, 1}));
        // One storage, as in Python: a write through one view shows in the others.
        CHECK(transposed.storage().is_alias_of(base.storage()));
        CHECK(sliced.storage().is_alias_of(base.storage()));
        base.index_put_({1, 2}, 100.0f);
        CHECK_EQ(sliced[0][0].item<float>(), 100.0f);
        CHECK_EQ(transposed[2][1].item<float>(), 100.0f);
    }
}

ENGINE_TEST(icmilClassifierNestedDicts)
{
    const StateDict dict = readStateDict(fixture("icmil_classifier.pth"));
    CHECK_EQ(dict.keys(),
             (std::vector<std::string>{"dim_reduction.0.weight", "dim_reduction.0.bias", "attention.attention_a.weight",
                                       "attention.attention_a.bias", "attention.attention_b.weight", "attention.attention_b.bias",
                                       "attention.attention_c.weight", "attention.attention_c.bias", "classifier.weight", "classifier.bias",
                                       "att_classifier.weight", "att_classifier.bias"}));
    CHECK_EQ(stateDictDifference(dict.withPrefix("dim_reduction."), {{"0.weight", {4, 8}}, {"0.bias", {4}}}), "");
    CHECK_EQ(stateDictDifference(dict.withPrefix("attention."),
                                 {{"attention_a.weight", {3, 4}},
                                  {"attention_a.bias", {3}},
                                  {"attention_b.weight", {3, 4}},
                                  {"attention_b.bias", {3}},
                                  {"attention_c.weight", {1, 3}},
                                  {"attention_c.bias", {1}}}),
             "");
    CHECK_EQ(stateDictDifference(dict.withPrefix("classifier."), {{"weight", {2, 4}}, {"bias", {2}}}), "");
    const PickleValue root = readTorchFile(fixture("icmil_classifier.pth"));
    CHECK(root.isDict() && !root.isOrderedDict());
    const PickleValue *empty = root.find("instance_classifiers");
    CHECK(empty != nullptr && empty->isOrderedDict() && empty->entries().empty());
}

ENGINE_TEST(huggingFacePlainDict)
{
    const StateDict dict = readStateDict(fixture("pytorch_model.bin"));
    const std::vector<Expected> expected{{"embeddings.patch_embeddings.projection.weight", {4, 3, 2, 2}},
                                         {"embeddings.cls_token", {1, 1, 4}},
                                         {"encoder.layer.0.attention.attention.query.weight", {4, 4}, torch::kHalf},
                                         {"encoder.layer.0.attention.attention.query.bias", {4}, torch::kHalf},
                                         {"layernorm.weight", {4}, torch::kBFloat16}};
    CHECK_EQ(stateDictDifference(dict, expected), "");
    CHECK(!readTorchFile(fixture("pytorch_model.bin")).isOrderedDict());
}

ENGINE_TEST(parameters)
{
    for (const char *name : {"parameters_zip.pt", "parameters_legacy.pt"})
        CHECK_EQ(stateDictDifference(readStateDict(fixture(name)), {{"weight", {3, 2}}, {"frozen", {2}, torch::kDouble}}), "");
}

ENGINE_TEST(checkpointWithNonTensorLeaves)
{
    for (const char *name : {"checkpoint_zip.pt", "checkpoint_legacy.pt"}) {
        const PickleValue root = readTorchFile(fixture(name));
        CHECK_EQ(root.find("epoch")->toInt(), 7);
        CHECK_EQ(root.find("arch")->toStringRef(), "abmil");
        CHECK_EQ(root.find("unicode")->toStringRef(), "h\xc3\xa9llo \xe2\x9c\x93");
        CHECK_EQ(root.find("lr")->toDouble(), 1e-4);
        CHECK(root.find("best")->isNone());
        CHECK_EQ(root.find("done")->toBool(), true);
        const auto &history = root.find("history")->items();
        CHECK(history.size() == 4 && history[0].toDouble() == 0.5 && history[2].isNone() && history[3].toStringRef() == "x");
        std::vector<std::int64_t> ints;
        for (const PickleValue &value : root.find("ints")->items())
            ints.push_back(value.toInt());
        CHECK_EQ(ints, (std::vector<std::int64_t>{0, 255, 256, 65535, 65536, -1, 2147483648LL, -2147483649LL, INT64_MAX, INT64_MIN}));
        CHECK_EQ(root.find("huge")->toDouble(), 1180591620717411303424.0); // 2**70, beyond int64
        CHECK(root.find("raw")->kind() == PickleValue::Kind::Bytes);
        CHECK_EQ(root.find("raw")->toStringRef(),
                 std::string("\x00\xff"
                             "ab",
                             4));
        const PickleValue *shape = root.find("shape");
        CHECK(shape->kind() == PickleValue::Kind::Tuple && shape->items().size() == 2 && shape->items()[1].toInt() == 3);
        std::vector<std::int64_t> tags;
        for (const PickleValue &value : root.find("tags")->items())
            tags.push_back(value.toInt());
        std::sort(tags.begin(), tags.end());
        CHECK_EQ(tags, (std::vector<std::int64_t>{1, 2, 3}));
        const PickleValue *pair = root.find("nested")->find("pair");
        CHECK(pair->items().size() == 3 && pair->items()[1].toStringRef() == "a" && pair->items()[2].toDouble() == 2.5);
        // Only tensors reachable through dicts; int keys in decimal.
        const StateDict dict = readStateDict(fixture(name));
        CHECK_EQ(dict.keys(), (std::vector<std::string>{"nested.model.weight", "nested.model.bias", "nested.4"}));
        CHECK_EQ(stateDictDifference(dict.withPrefix("nested.model."), {{"weight", {1, 2}}, {"bias", {1}}}), "");
        CHECK_EQ(difference(*dict.find("nested.4"), pattern({2}, torch::kInt, 5)), "");
    }
}

ENGINE_TEST(loneTensor)
{
    const fs::path path = fixture("tensor_only.pt");
    const PickleValue root = readTorchFile(path);
    CHECK(root.isTensor());
    CHECK_EQ(difference(root.toTensor(), pattern({2, 2}, torch::kFloat, 0)), "");
    CHECK_THROWS_MESSAGE(readStateDict(path), prefixFor(path) + "it holds a Tensor, not a dict of tensors");
}

// ---- files LibTorch wrote -----------------------------------------------------------------------

ENGINE_TEST(libtorchPickleSaveRoundTrip)
{
    // torch::pickle_save writes the zip format too; embedder weights are written this way.
    c10::Dict<std::string, at::Tensor> weights;
    weights.insert("stem.weight", pattern({4, 3, 2, 2}, torch::kFloat, 0));
    weights.insert("stem.bias", pattern({4}, torch::kFloat, 1));
    weights.insert("head.weight", pattern({2, 4}, torch::kHalf, 2));
    weights.insert("head.steps", pattern({}, torch::kLong, 3));
    weights.insert("mask", pattern({5}, torch::kBool, 4));
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(weights));
    const fs::path path = written("pickle_save.pt", std::string(bytes.begin(), bytes.end()));
    CHECK_EQ(stateDictDifference(readStateDict(path),
                                 {{"stem.weight", {4, 3, 2, 2}},
                                  {"stem.bias", {4}},
                                  {"head.weight", {2, 4}, torch::kHalf},
                                  {"head.steps", {}, torch::kLong},
                                  {"mask", {5}, torch::kBool}}),
             "");
    // A view saved through pickle_save keeps its values.
    c10::Dict<std::string, at::Tensor> views;
    views.insert("transposed", pattern({3, 2}, torch::kFloat, 0).t());
    const std::vector<char> viewBytes = torch::pickle_save(c10::IValue(views));
    const fs::path viewPath = written("pickle_save_view.pt", std::string(viewBytes.begin(), viewBytes.end()));
    CHECK_EQ(difference(*readStateDict(viewPath).find("transposed"), pattern({3, 2}, torch::kFloat, 0).t()), "");
    // A generic dict: nested typed dicts are flattened, List[int] and List[Tensor] are read as lists.
    c10::impl::GenericDict generic(c10::StringType::get(), c10::AnyType::get());
    generic.insert("config", c10::IValue(std::vector<std::int64_t>{1, 2}));
    generic.insert("encoder", c10::IValue(weights));
    generic.insert("extra", c10::IValue(c10::List<at::Tensor>({pattern({1}, torch::kFloat, 0)})));
    const std::vector<char> genericBytes = torch::pickle_save(c10::IValue(generic));
    const fs::path genericPath = written("pickle_save_generic.pt", std::string(genericBytes.begin(), genericBytes.end()));
    const StateDict nested = readStateDict(genericPath);
    CHECK_EQ(nested.size(), 5u);
    CHECK_EQ(stateDictDifference(nested.withPrefix("encoder."),
                                 {{"stem.weight", {4, 3, 2, 2}},
                                  {"stem.bias", {4}},
                                  {"head.weight", {2, 4}, torch::kHalf},
                                  {"head.steps", {}, torch::kLong},
                                  {"mask", {5}, torch::kBool}}),
             "");
    const PickleValue root = readTorchFile(genericPath);
    CHECK(root.find("config")->kind() == PickleValue::Kind::List && root.find("config")->items()[1].toInt() == 2);
    CHECK(root.find("extra")->items()[0].isTensor());
}

// ---- what cannot be read: exact messages --------------------------------------------------------

ENGINE_TEST(missingFileDirectoryAndSpecialFile)
{
    const fs::path missing = scratch("no-such-file.pth");
    CHECK_THROWS_MESSAGE(readStateDict(missing), prefixFor(missing) + "the file does not exist");
    const fs::path folder = fs::path(ICMIL_TORCHFILE_FIXTURES);
    CHECK_THROWS_MESSAGE(readTorchFile(folder), prefixFor(folder) + "it is a directory, not a file");
    if (fs::exists("/dev/null"))
        CHECK_THROWS_MESSAGE(readTorchFile("/dev/null"), prefixFor("/dev/null") + "it is not a regular file");
}

ENGINE_TEST(emptyAndTextFiles)
{
    const fs::path empty = written("empty.pt", "");
    CHECK_THROWS_MESSAGE(readStateDict(empty), prefixFor(empty) + "the file is empty");
    const fs::path text = written("notes.pt", "These are not weights.\n");
    CHECK_THROWS_MESSAGE(readStateDict(text),
                         prefixFor(text) + "it is neither a ZIP archive nor a pickle, so it was not written by torch.save");
    const fs::path plainPickle = written("plain.pkl", PickleBytes().proto().emptyDict().stop().bytes());
    CHECK_THROWS_MESSAGE(readStateDict(plainPickle),
                         prefixFor(plainPickle) + "it is a pickle, but not one written by torch.save (no PyTorch magic number)");
}

ENGINE_TEST(compressedZipEntryIsRefused)
{
    const fs::path path = fixture("state_dict_deflated.pt");
    CHECK_THROWS_MESSAGE(readStateDict(path),
                         prefixFor(path)
                             + "ZIP entry 'state_dict_zip/data.pkl' is compressed "
                               "(method 8), but torch.save stores its entries uncompressed (was the file re-zipped?)");
}

ENGINE_TEST(torchScriptArchiveIsNamed)
{
    const fs::path path = fixture("torchscript_module.pt");
    CHECK_THROWS_MESSAGE(readStateDict(path),
                         prefixFor(path) + "it is a TorchScript archive (torch.jit.save); load it as a TorchScript model");
}

ENGINE_TEST(zipWithoutDataPkl)
{
    const fs::path path = written("other.zip", zipFile({{"notes/readme.txt", "hello"}}));
    CHECK_THROWS_MESSAGE(readStateDict(path), prefixFor(path) + "the ZIP archive has no data.pkl, so it was not written by torch.save");
}

ENGINE_TEST(truncatedFilesExactMessages)
{
    const fs::path zip = written("cut.pt", readFile(fixture("state_dict_zip.pt")).substr(0, 100));
    CHECK_THROWS_MESSAGE(readStateDict(zip), prefixFor(zip) + "the ZIP archive is truncated (it has no end-of-central-directory record)");
    const fs::path legacy = written("cut-legacy.pt", readFile(fixture("state_dict_legacy.pt")).substr(0, 60));
    CHECK_THROWS_MESSAGE(readStateDict(legacy),
                         prefixFor(legacy) + "the pickle data ends unexpectedly at byte 60 (the file is truncated or corrupted)");
}
