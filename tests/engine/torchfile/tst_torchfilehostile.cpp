// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for engine/torchfile/torchfile.h on hostile and damaged files: a pickle that reaches for
// code refused through the whole reader, cycles and deep nesting, declared sizes beyond the file,
// every byte of a pickle changed or cut, CRC-32 on every ZIP member, random mutants of a
// checkpoint. Each must give one EngineError and never crash. The unpickler's allow-list on its
// own (nothing built before a refusal, wrong arguments, huge lengths) is tst_torchfileunpickler.cpp.

#include "enginecheck.h"
#include "torchfilecrafting.h"
#include "torchfilefixtures.h"

#include "engine/engineerror.h"
#include "engine/torchfile/pickleunpickler.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/storedziparchive.h"
#include "engine/torchfile/torchfile.h"
#include "engine/torchfile/torchobjectfactory.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string_view>

namespace fs = std::filesystem;
using icmil::engine::EngineError;
using icmil::engine::PickleValue;
using icmil::engine::readStateDict;
using icmil::engine::readTorchFile;
using icmil::engine::StateDict;
using namespace torchfilecrafting;
using namespace torchfilefixtures;

ENGINE_TEST(forbiddenGlobalsAreRefused)
{
    const std::string refusal = "': a weights file holds only tensors, dicts and plain values, and this reader runs no code from files";
    const std::string call = PickleBytes().proto().global("os", "system").str("touch /tmp/pwned").op('\x85').reduce().stop().bytes();
    const fs::path legacy = written("evil-legacy.pt", legacyFile(call));
    CHECK_THROWS_MESSAGE(readStateDict(legacy), prefixFor(legacy) + "refusing to load 'os.system" + refusal);
    const fs::path zip = written("evil.pt", zipTorchFile(call));
    CHECK_THROWS_MESSAGE(readStateDict(zip), prefixFor(zip) + "refusing to load 'os.system" + refusal);
    const std::string stackGlobal
        = PickleBytes().proto(4).str("builtins").str("eval").op('\x93').str("1").op('\x85').reduce().stop().bytes();
    const fs::path viaStack = written("evil-stack.pt", zipTorchFile(stackGlobal));
    CHECK_THROWS_MESSAGE(readStateDict(viaStack), prefixFor(viaStack) + "refusing to load 'builtins.eval" + refusal);
    // A whitelisted module with another name is still refused.
    const std::string other = PickleBytes().proto().global("torch", "load").stop().bytes();
    const fs::path torchLoad = written("torch-load.pt", zipTorchFile(other));
    CHECK_THROWS_MESSAGE(readStateDict(torchLoad), prefixFor(torchLoad) + "refusing to load 'torch.load" + refusal);
}

ENGINE_TEST(nestingCyclesAndSharingAreBounded)
{
    const int depth = 100000;
    const std::string deep = PickleBytes().proto().raw(std::string(depth, ']')).raw(std::string(depth - 1, 'a')).stop().bytes();
    const fs::path bomb = written("deep.pt", legacyFile(deep));
    CHECK_THROWS_MESSAGE(readTorchFile(bomb), prefixFor(bomb) + "the pickle nests containers more than 500 levels deep");

    const std::string marks = PickleBytes().proto().raw(std::string((1 << 20) + 8, '(')).stop().bytes();
    const fs::path markBomb = written("marks.pt", zipTorchFile(marks));
    const std::string markError = errorOf([&] { readTorchFile(markBomb); });
    CHECK(markError.starts_with(prefixFor(markBomb) + "the pickle stack grows beyond 1048576 entries at byte "));

    const std::string cycle = PickleBytes().proto().emptyList().put(0).get(0).op('a').stop().bytes();
    const fs::path cyclic = written("cycle.pt", zipTorchFile(cycle));
    CHECK_THROWS_MESSAGE(readTorchFile(cyclic),
                         prefixFor(cyclic) + "the pickle holds a container that contains itself (a reference cycle)");

    // d_k = {'a': d_(k-1), 'b': d_(k-1)}: 2^40 paths, 41 objects. Reading shares; walking is bounded.
    PickleBytes shared;
    shared.proto().emptyDict().put(0);
    for (int level = 1; level <= 40; ++level)
        shared.emptyDict().mark().str("a").get(level - 1).str("b").get(level - 1).op('u').put(level);
    const fs::path laughs = written("laughs.pt", zipTorchFile(shared.stop().bytes()));
    CHECK(readTorchFile(laughs).isDict());
    CHECK_THROWS_MESSAGE(readStateDict(laughs), prefixFor(laughs) + "it holds more than 4194304 values to walk");

    // The same with a tensor at the bottom: 2^17 distinct keys, more tensors than allowed.
    PickleBytes tensors;
    tensors.proto().emptyDict().str("t").tensor("FloatStorage", "0", 1, 0, {}, {}).setItem().put(0);
    for (int level = 1; level <= 17; ++level)
        tensors.emptyDict().mark().str("a").get(level - 1).str("b").get(level - 1).op('u').put(level);
    const fs::path many = written("many.pt", zipTorchFile(tensors.stop().bytes(), {{"0", std::string(4, '\0')}}));
    CHECK_THROWS_MESSAGE(readStateDict(many), prefixFor(many) + "it holds more than 65536 tensors");
}

ENGINE_TEST(hugeDeclaredSizesAreRefused)
{
    const auto tensorFile = [](std::int64_t numel, std::vector<std::int64_t> sizes, std::vector<std::int64_t> strides,
                               const std::string &data, bool legacy) {
        const std::string pickle
            = PickleBytes().proto().emptyDict().str("w").tensor("FloatStorage", "0", numel, 0, sizes, strides).setItem().stop().bytes();
        return legacy ? legacyFile(pickle, {{"0", data}}, {static_cast<std::uint64_t>(data.size() / 4)})
                      : zipTorchFile(pickle, {{"0", data}});
    };
    const std::string sixteen(16, '\0');
    const fs::path legacyHuge = written("huge-legacy.pt", tensorFile(std::int64_t{1} << 40, {4}, {1}, sixteen, true));
    CHECK_THROWS_MESSAGE(readStateDict(legacyHuge),
                         prefixFor(legacyHuge) + "storage '0' declares 4398046511104 bytes, more than the file holds (damaged file?)");
    const fs::path zipHuge = written("huge.pt", tensorFile(std::int64_t{1} << 40, {4}, {1}, sixteen, false));
    CHECK_THROWS_MESSAGE(readStateDict(zipHuge), prefixFor(zipHuge) + "storage '0' should hold 4398046511104 bytes, but its entry has 16");
    const fs::path overflow = written("overflow.pt", tensorFile(std::int64_t{1} << 62, {4}, {1}, sixteen, false));
    CHECK_THROWS_MESSAGE(readStateDict(overflow),
                         prefixFor(overflow) + "storage '0' declares 4611686018427387904 elements, too many to address");
    const fs::path outside = written("outside.pt", tensorFile(4, {3, 3}, {3, 1}, sixteen, false));
    CHECK_THROWS_MESSAGE(readStateDict(outside),
                         prefixFor(outside)
                             + "a tensor of shape [3, 3], stride [3, 1] and offset 0 does not fit in its storage of 4 elements");
    const fs::path product = written("product.pt", tensorFile(4, {std::int64_t{1} << 40, std::int64_t{1} << 40}, {0, 0}, sixteen, true));
    CHECK_THROWS_MESSAGE(
        readStateDict(product),
        prefixFor(product)
            + "a tensor of shape [1099511627776, 1099511627776], stride [0, 0] and offset 0 does not fit in its storage of 4 elements");
    const fs::path repeated = written("repeated.pt", tensorFile(4, {std::int64_t{1} << 20, std::int64_t{1} << 20}, {0, 1}, sixteen, false));
    CHECK_THROWS_MESSAGE(
        readStateDict(repeated),
        prefixFor(repeated) + "a tensor of shape [1048576, 1048576], stride [0, 1] and offset 0 does not fit in its storage of 4 elements");
    const fs::path expanded = written("expanded.pt", tensorFile(4, {std::int64_t{1} << 20, std::int64_t{1} << 20}, {0, 0}, sixteen, false));
    CHECK_THROWS_MESSAGE(readStateDict(expanded),
                         prefixFor(expanded)
                             + "a tensor of shape [1048576, 1048576] repeats the 4 elements of its storage more than a weights file would");
    const fs::path negative = written("negative.pt", tensorFile(4, {2}, {-1}, sixteen, false));
    CHECK_THROWS_MESSAGE(
        readStateDict(negative),
        prefixFor(negative) + "'torch._utils._rebuild_tensor_v2' is called with wrong arguments: a tensor's stride entry is negative (-1)");
    const fs::path fits = written("fits.pt", tensorFile(4, {2, 2}, {2, 1}, sixteen, true));
    CHECK_EQ(difference(*readStateDict(fits).find("w"), torch::zeros({2, 2})), "");
}

ENGINE_TEST(damagedStoragesAndPickles)
{
    const std::string pickle
        = PickleBytes().proto().emptyDict().str("w").tensor("FloatStorage", "7", 4, 0, {4}, {1}, "cuda:1").setItem().stop().bytes();
    const fs::path noEntry = written("no-entry.pt", zipTorchFile(pickle));
    CHECK_THROWS_MESSAGE(readStateDict(noEntry),
                         prefixFor(noEntry) + "the archive has no entry 'archive/data/7' for storage '7' (damaged file?)");
    const fs::path count = written("count.pt", legacyFile(pickle, {{"7", std::string(16, '\0')}}, {3}));
    CHECK_THROWS_MESSAGE(readStateDict(count),
                         prefixFor(count) + "storage '7' should hold 4 elements, but the file says 3 (damaged file?)");

    const std::string suffix = " of the pickle data (the file is corrupted or not a torch.save file)";
    const fs::path opcode = written("opcode.pt", zipTorchFile(std::string("\x80\x02I1\n.", 6)));
    CHECK_THROWS_MESSAGE(readStateDict(opcode), prefixFor(opcode) + "unsupported pickle opcode 0x49 ('I') at byte 2" + suffix);
    const fs::path memo = written("memo.pt", zipTorchFile(std::string("\x80\x02h\x05.", 5)));
    CHECK_THROWS_MESSAGE(readStateDict(memo),
                         prefixFor(memo) + "the pickle refers to memo entry 5, which it never stored at byte 2" + suffix);
    const fs::path underflow = written("underflow.pt",
                                       zipTorchFile(std::string("\x80\x02"
                                                                "a.",
                                                                4)));
    CHECK_THROWS_MESSAGE(readStateDict(underflow), prefixFor(underflow) + "the pickle pops from an empty stack at byte 2" + suffix);
}

// ---- never a crash: every fixture cut short and with bytes changed ------------------------------

ENGINE_TEST(truncatedAnywhereGivesAnError)
{
    int reads = 0;
    for (const fs::path &source : allFixtures()) {
        const std::string bytes = readFile(source);
        const fs::path path = scratch("truncated" + source.extension().string());
        const std::size_t step = std::max<std::size_t>(1, bytes.size() / 100);
        for (std::size_t cut = 0; cut < bytes.size(); cut += (cut < 32 || cut + 32 > bytes.size()) ? 1 : step) {
            writeFile(path, bytes.substr(0, cut));
            const std::string error = errorOf([&] { readStateDict(path); });
            if (!error.starts_with(prefixFor(path)))
                ENGINECHECK_FAIL(source.filename().string() + " cut at " + std::to_string(cut) + ": \"" + error + "\"");
            ++reads;
        }
    }
    CHECK(reads > 2000);
}

ENGINE_TEST(changedBytesGiveValuesOrAnError)
{
    int reads = 0;
    for (const fs::path &source : allFixtures()) {
        const std::string original = readFile(source);
        const fs::path path = scratch("changed" + source.extension().string());
        const std::size_t step = std::max<std::size_t>(1, original.size() / 150);
        for (std::size_t position = 0; position < original.size(); position += step) {
            for (const unsigned char change : {0xffu, 0x01u}) {
                std::string bytes = original;
                bytes[position] = static_cast<char>(static_cast<unsigned char>(bytes[position]) ^ change);
                writeFile(path, bytes);
                const std::string error = errorOf([&] { readStateDict(path); });
                if (!error.empty() && !error.starts_with(prefixFor(path)))
                    ENGINECHECK_FAIL(source.filename().string() + " changed at " + std::to_string(position) + ": \"" + error + "\"");
                ++reads;
            }
        }
    }
    CHECK(reads > 4000);
}

namespace {

// Storages for the unpickler fuzz: zeros, any size up to 64 Ki elements.
class ZeroStorages : public icmil::engine::TorchStorageLoader {
public:
    torch::Tensor loadStorage(const std::string &, c10::ScalarType dtype, std::int64_t numel, const std::string &) override
    {
        if (numel > (1 << 16))
            throw EngineError("too large for the test");
        return torch::zeros({numel}, torch::TensorOptions().dtype(dtype));
    }
};

std::string unpickleError(const std::string &pickle)
{
    return errorOf([&] {
        using namespace icmil::engine;
        ZeroStorages storages;
        PickleGraph graph;
        TorchObjectFactory factory(&storages);
        PickleUnpickler unpickler(graph, factory);
        std::size_t end = 0;
        graph.freeze(unpickler.load(pickle, 0, end));
    });
}

} // namespace

ENGINE_TEST(everyPickleByteChangedOrCut)
{
    // data.pkl is CRC-checked inside a ZIP, so the unpickler itself is fed the changed bytes here.
    int runs = 0;
    for (const char *name : {"state_dict_zip.pt", "state_dict_protocol4_zip.pt", "checkpoint_zip.pt", "views_zip.pt"}) {
        const icmil::engine::RandomAccessFile file(fixture(name));
        const icmil::engine::StoredZipArchive archive(file);
        const std::string stem = fs::path(name).stem().string();
        const std::string pickle = archive.readSmall(*archive.find(stem + "/data.pkl"), 1 << 20);
        CHECK_EQ(unpickleError(pickle), "");
        for (std::size_t position = 0; position < pickle.size(); ++position) {
            for (const unsigned char change : {0xffu, 0x01u, 0x40u}) {
                std::string bytes = pickle;
                bytes[position] = static_cast<char>(static_cast<unsigned char>(bytes[position]) ^ change);
                const std::string error = unpickleError(bytes);
                if (error.starts_with("UNEXPECTED"))
                    ENGINECHECK_FAIL(std::string(name) + " byte " + std::to_string(position) + ": " + error);
                ++runs;
            }
            const std::string error = unpickleError(pickle.substr(0, position));
            if (error.empty() || error.starts_with("UNEXPECTED"))
                ENGINECHECK_FAIL(std::string(name) + " cut at " + std::to_string(position) + ": \"" + error + "\"");
        }
    }
    CHECK(runs > 5000);
}

// ---- integrity: every ZIP member is CRC-checked, and no mutant loads damaged weights -----------

ENGINE_TEST(crc32MatchesItsDefinition)
{
    using icmil::engine::StoredZipArchive;
    CHECK_EQ(StoredZipArchive::crc32("123456789"), 0xcbf43926u);
    CHECK_EQ(StoredZipArchive::crc32(""), 0u);
    std::mt19937_64 random(21);
    for (int n = 0; n < 400; ++n) {
        // Every length up to 300 (the table and carry-less paths and their tails), then long ones.
        const std::size_t length = n < 300 ? static_cast<std::size_t>(n) : 1000 + random() % 70000;
        std::string bytes(length + 1, '\0');
        for (char &byte : bytes)
            byte = static_cast<char>(random());
        const std::string_view unaligned = std::string_view(bytes).substr(1); // starts off a 16-byte boundary
        const std::uint32_t expected = bitwiseCrc32(std::string(unaligned));
        CHECK_EQ(StoredZipArchive::crc32(unaligned), expected);
        const std::size_t split = length == 0 ? 0 : random() % length;
        CHECK_EQ(
            StoredZipArchive::crc32Update(StoredZipArchive::crc32(unaligned.substr(0, split)), unaligned.data() + split, length - split),
            expected);
    }
}

ENGINE_TEST(everyZipMemberIsCrcChecked)
{
    const std::string pickle
        = PickleBytes().proto().emptyDict().str("w").tensor("FloatStorage", "0", 4, 0, {4}, {1}).setItem().stop().bytes();
    const std::string storage("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40", 16); // 1, 2, 3, 4
    const std::string good = zipTorchFile(pickle, {{"0", storage}});
    CHECK_EQ(difference(*readStateDict(written("crc-good.pt", good)).find("w"), torch::tensor({1.0f, 2.0f, 3.0f, 4.0f})), "");

    std::string bytes = good;
    bytes[good.find(storage) + 5] ^= 0x01; // 2.0 becomes 2.0000002: only the CRC can tell
    const fs::path storageDamaged = written("crc-storage.pt", bytes);
    CHECK_THROWS_MESSAGE(readStateDict(storageDamaged),
                         prefixFor(storageDamaged) + "checkpoint damaged: archive/data/0 fails its CRC check");

    bytes = good;
    bytes[good.find(pickle) + 6] ^= 0x01;
    const fs::path pickleDamaged = written("crc-pickle.pt", bytes);
    CHECK_THROWS_MESSAGE(readStateDict(pickleDamaged),
                         prefixFor(pickleDamaged) + "checkpoint damaged: archive/data.pkl fails its CRC check");

    // An entry longer than its storage: the bytes past it are checked too.
    const std::string longer = zipTorchFile(pickle, {{"0", storage + "tail"}});
    CHECK(readStateDict(written("crc-longer.pt", longer)).size() == 1);
    bytes = longer;
    bytes[longer.find("tail")] = 'T';
    const fs::path tailDamaged = written("crc-tail.pt", bytes);
    CHECK_THROWS_MESSAGE(readStateDict(tailDamaged), prefixFor(tailDamaged) + "checkpoint damaged: archive/data/0 fails its CRC check");

    // A file torch.save wrote, one bit of a storage flipped.
    bytes = readFile(fixture("state_dict_zip.pt"));
    {
        const icmil::engine::RandomAccessFile file(fixture("state_dict_zip.pt"));
        const icmil::engine::StoredZipArchive archive(file);
        const auto *entry = archive.find("state_dict_zip/data/0");
        CHECK(entry != nullptr);
        bytes[static_cast<std::size_t>(archive.dataOffset(*entry) + entry->size - 1)] ^= 0x40;
    }
    const fs::path fixtureDamaged = written("crc-fixture.pt", bytes);
    CHECK_THROWS_MESSAGE(readStateDict(fixtureDamaged),
                         prefixFor(fixtureDamaged) + "checkpoint damaged: state_dict_zip/data/0 fails its CRC check");

    // Two members of one name: which one a reader takes would be a guess.
    const fs::path twice
        = written("crc-twice.pt", zipFile({{"archive/data.pkl", pickle}, {"archive/data/0", storage}, {"archive/data/0", storage}}));
    CHECK_THROWS_MESSAGE(readStateDict(twice),
                         prefixFor(twice) + "the ZIP archive is corrupted: it holds two entries named 'archive/data/0'");
}

ENGINE_TEST(randomMutantsNeverLoadDamagedWeights)
{
    // The experiment on a zip state dict torch.save wrote: 200 seeded mutants, 1-8 bytes
    // changed, one in five also cut short. Each gives one EngineError naming the file, or the
    // original tensors bit for bit (the changed bytes were ones no reader uses).
    const std::string original = readFile(fixture("state_dict_zip.pt"));
    const StateDict expected = readStateDict(fixture("state_dict_zip.pt"));
    std::mt19937_64 random(20260421);
    const fs::path path = scratch("mutant.pt");
    int errors = 0;
    int identical = 0;
    for (int i = 0; i < 200; ++i) {
        const Mutant mutant = mutate(original, random);
        writeFile(path, mutant.bytes);
        StateDict loaded;
        std::string error;
        try {
            loaded = readStateDict(path);
        } catch (const EngineError &caught) {
            error = caught.what();
        }
        if (!error.empty()) {
            if (!error.starts_with(prefixFor(path)))
                ENGINECHECK_FAIL("mutant " + std::to_string(i) + " (" + mutant.describe() + "): \"" + error + "\"");
            ++errors;
            continue;
        }
        const std::string damage = bitDifference(loaded, expected);
        if (!damage.empty())
            ENGINECHECK_FAIL("mutant " + std::to_string(i) + " (" + mutant.describe() + ") loaded damaged weights: " + damage);
        ++identical;
    }
    std::cout << "  state_dict_zip.pt mutants: " << errors << " errors, " << identical << " identical, 0 damaged" << std::endl;
    CHECK_EQ(errors + identical, 200);
    CHECK(errors > 0);
}
